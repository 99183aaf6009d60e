"""Tests of the statistics that choose the defence settings."""

import numpy as np
import pytest

from egan_tf import selection
from egan_tf.selection import ScoredSetting


def _correct(rows):
    return np.array(rows, dtype=bool)


def test_a_candidate_that_agrees_everywhere_has_margin_and_bound_zero():
    baseline = _correct([[1, 0, 1, 1], [0, 0, 1, 1]])
    mean, lower = selection.paired_margins(baseline.copy(), baseline)
    np.testing.assert_array_equal(mean, [0.0, 0.0])
    np.testing.assert_array_equal(lower, [0.0, 0.0])


def test_the_margin_and_its_bound_follow_the_paired_differences():
    # Setting 0: the candidate wins 3 of 10 images and loses 1: differences
    # [1, 1, 1, -1, 0 x 6], mean 0.2, sample std sqrt((4 - 10 * 0.04) / 9).
    baseline = _correct([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]])
    candidate = _correct([[1, 1, 1, 0, 1, 1, 1, 1, 1, 1]])
    mean, lower = selection.paired_margins(candidate, baseline, z=2.0)
    standard_error = np.sqrt((4 - 10 * 0.2**2) / 9) / np.sqrt(10)
    np.testing.assert_allclose(mean, [0.2])
    np.testing.assert_allclose(lower, [0.2 - 2.0 * standard_error])
    assert lower[0] < 0 < mean[0]


@pytest.mark.parametrize(
    ("candidate_shape", "baseline_shape", "needle"),
    [((2, 5), (2, 4), "baseline.shape=(2, 4)"), ((2, 1), (2, 1), "images=1")],
)
def test_bad_margin_inputs_are_named(candidate_shape, baseline_shape, needle):
    with pytest.raises(
        ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")
    ):
        selection.paired_margins(
            np.zeros(candidate_shape, bool), np.zeros(baseline_shape, bool)
        )


def test_routing_takes_the_plain_answer_where_kept():
    keep = _correct([[1, 0, 1]])
    plain = _correct([[1, 1, 0]])
    restored = _correct([[0, 0, 1]])
    np.testing.assert_array_equal(
        selection.routed_correct(keep, plain, restored), [[True, False, False]]
    )


def _scored(name, mean, worst_lower):
    return ScoredSetting({"name": name}, mean, min(worst_lower, 0.0), worst_lower)


def test_the_best_mean_wins_only_among_admissible_settings():
    scored = [
        _scored("risky", 0.99, -0.001),
        _scored("safe", 0.97, 0.0),
        _scored("safer but worse", 0.96, 0.002),
    ]
    chosen = selection.choose_constrained(scored)
    assert chosen.settings["name"] == "safe"
    assert [setting.admissible for setting in scored] == [False, True, True]


def test_without_an_admissible_setting_the_least_risky_wins():
    scored = [_scored("a", 0.99, -0.01), _scored("b", 0.90, -0.002)]
    assert selection.choose_constrained(scored).settings["name"] == "b"
    with pytest.raises(ValueError, match="scored=\\[\\]"):
        selection.choose_constrained([])


def test_among_equally_risky_settings_the_best_mean_wins():
    # On Fashion-MNIST's held-out images no gate was admissible, and many
    # tied at the best worst bound (one image of 3,000 at one setting); the
    # first of them in search order won, 2.6 points of mean below the best.
    scored = [
        _scored("first", 0.85, -0.001),
        _scored("worse bound", 0.95, -0.002),
        _scored("best mean", 0.88, -0.001),
    ]
    assert selection.choose_constrained(scored).settings["name"] == "best mean"


def test_scoring_a_setting_records_its_worst_setting_and_mean():
    baseline = _correct([[1, 1, 1, 1], [0, 0, 0, 0]])
    candidate = _correct([[1, 1, 1, 0], [1, 1, 0, 0]])
    scored = selection.score_setting({"gate": 0.1}, candidate, baseline)
    assert scored.mean_accuracy == pytest.approx(5 / 8)
    assert scored.worst_margin == pytest.approx(-0.25)
    assert not scored.admissible
    assert scored.to_dict()["gate"] == 0.1


def test_the_fewest_steps_within_the_tolerance_are_chosen():
    accuracy = {5: 0.9773, 10: 0.9806, 20: 0.9832}
    assert selection.fewest_steps_within(accuracy, 0.001) == 20
    assert selection.fewest_steps_within(accuracy, 0.003) == 10
    assert selection.fewest_steps_within(accuracy, 0.01) == 5
    with pytest.raises(ValueError, match="tolerance=-1"):
        selection.fewest_steps_within(accuracy, -1)
