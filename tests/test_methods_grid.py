"""Tests of the side-by-side evaluation of the defences."""

import numpy as np
import pytest
from helpers import tiny_defense_models

from egan_tf import reporting
from egan_tf.defenses import EGAN_BASED_METHODS, DefenseConfig, Method
from egan_tf.grid import evaluate_grid
from egan_tf.grid_spec import BlurKind, GridSpec
from egan_tf.methods_grid import evaluate_methods_grid, time_methods
from egan_tf.model_io import ShippedModels


@pytest.fixture(scope="module")
def models():
    return tiny_defense_models()


@pytest.fixture(scope="module")
def fourier_result(models, mnist_test):
    return evaluate_methods_grid(
        models, DefenseConfig(), mnist_test.take(40), list(Method),
        GridSpec((0.1, 0.2), (0.0, 45.0), length_scale=2.0), show_progress=False,
    )  # fmt: skip


def test_records_cover_every_method_and_setting(fourier_result):
    result = fourier_result
    assert result.methods == tuple(str(m) for m in Method)
    assert [(p.length, p.angle) for p in result.grid] == [
        (0.1, 0.0), (0.1, 45.0), (0.2, 0.0), (0.2, 45.0),
    ]  # fmt: skip
    assert result.grid[-1].applied_length == pytest.approx(0.4)
    for accuracy in [result.clean, *(p.accuracy for p in result.grid)]:
        assert set(accuracy) == set(result.methods)
        assert all(0.0 <= value <= 1.0 for value in accuracy.values())
    assert result.clean_estimator.angle_mae_degrees is None
    assert result.grid[-1].estimator.angle_mae_degrees is not None


def test_none_and_egan_agree_with_the_paper_grid_evaluator(
    models, mnist_test, fourier_result
):
    # Two independent code paths over the same blur must give the same counts.
    paper = evaluate_grid(
        ShippedModels(models.classifier, models.generator, models.encoder),
        mnist_test.take(40), GridSpec((0.1, 0.2), (0.0, 45.0), length_scale=2.0),
        show_progress=False,
    )  # fmt: skip
    assert fourier_result.clean["none"] == paper.clean_accuracy
    assert fourier_result.clean["egan"] == paper.egan_accuracy
    for point in paper.grid:
        methods_point = fourier_result.point(point.length, point.angle)
        assert methods_point.accuracy["none"] == pytest.approx(
            point.accuracy_blurred_all
        )
        assert methods_point.accuracy["egan"] == pytest.approx(
            point.accuracy_defended_all, abs=1 / 40
        )


def test_the_spatial_blur_gives_its_own_numbers(models, mnist_test, fourier_result):
    spatial = evaluate_methods_grid(
        models, DefenseConfig(), mnist_test.take(40), ["none", "wiener-oracle"],
        GridSpec((0.1, 0.2), (0.0, 45.0), length_scale=2.0, blur=BlurKind.SPATIAL),
        show_progress=False,
    )  # fmt: skip
    assert spatial.blur_kind == "spatial"
    assert spatial.clean["none"] == fourier_result.clean["none"]
    assert spatial.methods == ("none", "wiener-oracle")


def test_time_methods_reports_a_cost_for_each(models, mnist_test):
    costs = time_methods(
        models,
        DefenseConfig(),
        ["none", "egan-refine"],
        mnist_test.images[:8],
        GridSpec((0.2,), (0.0,)),
        1,
    )
    assert set(costs) == {"none", "egan-refine"}
    assert all(cost > 0 for cost in costs.values())


def test_json_and_table_layouts(models, mnist_test, fourier_result):
    payload = reporting.methods_json(fourier_result, {"none": 0.1})
    assert set(payload["clean_methods"]) == set(fourier_result.methods)
    paired = payload["grid"][1]["paired"]["gated - none"]
    assert (
        paired["difference"] == fourier_result.grid[1].paired["gated - none"].difference
    )
    assert set(payload["clean_paired"]) == set(fourier_result.clean_paired)
    assert (
        payload["grid"][0]["methods"]["none"] == fourier_result.grid[0].accuracy["none"]
    )
    paper = evaluate_grid(
        ShippedModels(models.classifier, models.generator, models.encoder),
        mnist_test.take(40), GridSpec((0.1, 0.2), (0.0, 45.0), length_scale=2.0),
        show_progress=False,
    )  # fmt: skip
    merged = reporting.attach_methods(reporting.grid_json(paper), payload)
    assert merged["clean_accuracy"] == paper.clean_accuracy
    assert merged["clean_methods"] == payload["clean_methods"]
    assert merged["grid"][3]["methods"] == payload["grid"][3]["methods"]
    # Every per-point record of the methods grid survives the merge.
    assert merged["grid"][3]["paired"] == payload["grid"][3]["paired"]
    assert "accuracy_blurred" in merged["grid"][3]
    text = reporting.format_methods_grid(fourier_result, {"none": 0.1})
    lines = text.splitlines()
    assert "best EGAN - none" in lines[1]
    assert lines[3].split()[0] == "clean"
    best = max(fourier_result.clean[str(m)] for m in EGAN_BASED_METHODS)
    assert float(lines[3].split()[-1]) == pytest.approx(
        100 * (best - fourier_result.clean["none"]), abs=0.01
    )
    assert "Cost, ms per image: none 0.10" in text


def test_bad_requests_are_refused(models, mnist_test):
    with pytest.raises(ValueError, match="No methods"):
        evaluate_methods_grid(
            models, DefenseConfig(), mnist_test.take(4), [], GridSpec((0.1,), (0.0,))
        )
    with pytest.raises(ValueError, match="lengths"):
        evaluate_methods_grid(
            models,
            DefenseConfig(),
            mnist_test.take(4),
            ["none"],
            GridSpec((-0.1,), (0.0,)),
        )
    assert np.isfinite(
        evaluate_methods_grid(
            models, DefenseConfig(), mnist_test.take(4), ["none"],
            GridSpec((0.0,), (0.0,)), show_progress=False,
        ).grid[0].accuracy["none"]
    )  # fmt: skip


@pytest.mark.parametrize("blur", [BlurKind.TRAIL, BlurKind.SHAKE])
def test_kernel_families_with_noise_do_not_depend_on_the_batch(
    models, mnist_test, blur
):
    # Each image's trajectory and noise are drawn from its index, so the
    # batch size cannot change a single answer.
    lengths = (0.1, 0.3) if blur == BlurKind.TRAIL else (4 / 28, 10 / 28)
    angles = (30.0,) if blur == BlurKind.TRAIL else (0.0,)
    results = [
        evaluate_methods_grid(
            models,
            DefenseConfig(),
            mnist_test.take(24),
            ["none", "wiener-oracle", "egan-blur"],
            GridSpec(lengths, angles, blur=blur, batch_size=batch_size, noise=0.02),
            show_progress=False,
        )
        for batch_size in (5, 24)
    ]
    first, second = results
    assert first.clean == second.clean
    assert [point.accuracy for point in first.grid] == [
        point.accuracy for point in second.grid
    ]
    # B's float outputs may differ in the last bits with the batch's size.
    for one, other in zip(first.grid, second.grid, strict=True):
        assert one.estimator.length_mae == pytest.approx(
            other.estimator.length_mae, abs=1e-5
        )
    payload = reporting.methods_json(first)
    assert (payload["blur"], payload["noise"]) == (str(blur), 0.02)
    assert payload["methods_info"] == {
        "none": {"uses_generator": False},
        "wiener-oracle": {"uses_generator": False},
        "egan-blur": {"uses_generator": True},
    }


def test_noise_changes_the_clean_row_and_zero_noise_changes_nothing(models, mnist_test):
    spec = GridSpec((0.1,), (0.0,), blur=BlurKind.TRAIL)
    arrays = mnist_test.take(30)
    quiet = evaluate_methods_grid(
        models, DefenseConfig(), arrays, ["none"], spec, False
    )
    again = evaluate_methods_grid(
        models, DefenseConfig(), arrays, ["none"], spec, False
    )
    assert quiet == again
    noisy = evaluate_methods_grid(
        models,
        DefenseConfig(),
        arrays,
        ["none"],
        GridSpec((0.1,), (0.0,), blur=BlurKind.TRAIL, noise=0.3),
        show_progress=False,
    )
    assert noisy.noise == 0.3
    assert noisy.clean != quiet.clean or noisy.grid != quiet.grid


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"blur": "motion"}, "blur must be one of"),
        ({"noise": -0.1}, "noise must be"),
        ({"noise": float("nan")}, "noise must be"),
        ({"blur": "shake", "angles": (0.0, 45.0)}, "no angle axis"),
        ({"blur": "trail", "lengths": (0.5,)}, "at most 0.464 for trail"),
    ],
)
def test_bad_kernel_family_specs_are_one_line(values, needle):
    with pytest.raises(ValueError, match=needle) as raised:
        GridSpec(**values)
    assert len(str(raised.value).splitlines()) == 1


def test_every_point_records_the_paired_claims(fourier_result):
    # The paired difference of two methods is the difference of their
    # accuracies, and its interval holds it; pairs not run are absent.
    for accuracy, paired in [
        (fourier_result.clean, fourier_result.clean_paired),
        *((point.accuracy, point.paired) for point in fourier_result.grid),
    ]:
        assert set(paired) == {
            "gated - none",
            "egan-refine - egan-blur",
            "hybrid - augment-mixture",
        }
        for name, record in paired.items():
            candidate, baseline = name.split(" - ")
            expected = accuracy[candidate] - accuracy[baseline]
            assert record.difference == pytest.approx(expected, abs=1e-6)
            assert record.low <= record.difference <= record.high


def test_paired_records_skip_pairs_that_did_not_run(models, mnist_test):
    result = evaluate_methods_grid(
        models, DefenseConfig(), mnist_test.take(8), ["none", "gated"],
        GridSpec((0.2,), (0.0,)), show_progress=False,
    )  # fmt: skip
    assert set(result.grid[0].paired) == {"gated - none"}
    assert set(result.to_dict()["clean_paired"]) == {"gated - none"}
