"""Tests of the defence methods on toy networks."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import defense_batch, tiny_defense_models

from egan_tf import defenses
from egan_tf.blur import apply_motion_blur
from egan_tf.config import config_to_dict
from egan_tf.defenses import DefenseConfig, Method, MethodOutput
from egan_tf.grid_spec import GridSpec
from egan_tf.model_io import ModelFileError


@pytest.fixture(scope="module")
def models():
    return tiny_defense_models()


def _batch_of_zeros(count=2):
    return tf.zeros([count, 28, 28, 1]), tf.zeros([count]), tf.zeros([count])


def test_every_method_gives_logits_for_every_image(models, mnist_test):
    images, length, angle = defense_batch(mnist_test)
    outputs = defenses.run_methods(
        models, DefenseConfig(), list(Method), images, length, angle
    )
    assert set(outputs) == set(Method)
    for method, output in outputs.items():
        logits = output.logits
        assert logits.shape == (6, 10), method
        assert output.classified.shape == (6, 28, 28, 1), method
        assert np.all(np.isfinite(logits.numpy())), method


def test_none_and_egan_match_the_networks_directly(models, mnist_test):
    images, length, angle = defense_batch(mnist_test)
    outputs = defenses.run_methods(
        models, DefenseConfig(), [Method.NONE, Method.EGAN], images, length, angle
    )
    np.testing.assert_allclose(outputs[Method.NONE].logits, models.classifier(images))
    restored = models.generator(models.encoder(images))
    egan = outputs[Method.EGAN]
    np.testing.assert_allclose(egan.logits, models.classifier(restored))
    np.testing.assert_allclose(egan.classified, restored)


@pytest.mark.parametrize(
    ("gate_length", "restorer", "same_as"),
    [
        (1e9, "egan-blur", Method.NONE),
        (-1.0, "egan-blur", Method.EGAN_BLUR),
        (-1.0, "egan-refine", Method.EGAN_REFINE),
        (-1.0, "hybrid", Method.HYBRID),
    ],
)
def test_the_gate_routes_to_c_or_to_the_restorer(
    models, mnist_test, gate_length, restorer, same_as
):
    images, length, angle = defense_batch(mnist_test)
    config = DefenseConfig(gate_length=gate_length, gated_restorer=restorer)
    # Traced with a dynamic batch, as the grid and the export run it; the
    # all-sharp case then restores an empty selection.
    vector = tf.TensorSpec([None], tf.float32)

    def gated_outputs(*inputs):
        output = defenses.run_methods(models, config, [Method.GATED], *inputs)[
            Method.GATED
        ]
        return output.logits, output.classified

    gated_graph = tf.function(
        gated_outputs,
        input_signature=[tf.TensorSpec([None, 28, 28, 1]), vector, vector],
    )
    gated = MethodOutput(*gated_graph(images, length, angle))
    expected = defenses.run_methods(models, config, [same_as], images, length, angle)[
        same_as
    ]
    np.testing.assert_allclose(gated.logits, expected.logits, atol=1e-6)
    np.testing.assert_allclose(gated.classified, expected.classified, atol=1e-6)


@pytest.mark.parametrize("restorer_first", [False, True])
def test_the_gate_restores_only_the_images_it_finds_blurred(
    models, mnist_test, restorer_first
):
    # Half the batch is blurred hard, half left sharp; the gate sits at the
    # median estimate so that both branches are taken. Called alone, `gated`
    # restores only its share; after `egan-refine` it reuses that batch's rows.
    images, length, angle = defense_batch(mnist_test)
    half = images.shape[0] // 2
    images = tf.concat([images[:half], apply_motion_blur(images[half:], 0.3, 30.0)], 0)
    estimated = defenses.estimate_blur(models, images).length
    gate = float(np.median(estimated))
    config = DefenseConfig(gate_length=gate, gated_restorer="egan-refine")

    def outputs(methods, batch):
        return defenses.run_methods(models, config, methods, batch, length, angle)

    order = [Method.EGAN_REFINE, Method.GATED] if restorer_first else [Method.GATED]
    gated = outputs(order, images)[Method.GATED]
    routed = estimated.numpy() >= gate
    assert 0 < routed.sum() < len(routed)
    restored = outputs([Method.EGAN_REFINE], tf.identity(images))[Method.EGAN_REFINE]
    plain = outputs([Method.NONE], images)[Method.NONE]
    expected_logits = np.where(routed[:, None], restored.logits, plain.logits)
    np.testing.assert_allclose(gated.logits, expected_logits, atol=1e-4)
    expected_images = np.where(routed[:, None, None, None], restored.classified, images)
    np.testing.assert_allclose(gated.classified, expected_images, atol=1e-4)


class _CountingNetwork:
    """A network that counts the calls made to it."""

    def __init__(self, network):
        self.network = network
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.network(*args, **kwargs)


@pytest.mark.parametrize("traced", [False, True])
def test_a_batch_the_gate_finds_sharp_never_reaches_the_generator(
    models, mnist_test, traced
):
    # Restoring a spare row for an all-sharp batch would cost a whole
    # refinement per request on a sharp image.
    generator = _CountingNetwork(models.generator)
    counted = dataclasses.replace(models, generator=generator)
    config = DefenseConfig(gate_length=1e9, gated_restorer="egan-refine")
    images, length, angle = defense_batch(mnist_test)

    def gated_logits(batch):
        return defenses.run_methods(
            counted, config, [Method.GATED], batch, length, angle
        )[Method.GATED].logits

    run = tf.function(gated_logits) if traced else gated_logits
    logits = run(images)
    plain = defenses.run_methods(models, config, [Method.NONE], images, length, angle)
    np.testing.assert_allclose(logits, plain[Method.NONE].logits, atol=1e-6)
    if traced:
        # Traced, both branches are built once; only the taken one runs, which
        # the eager run checks. Here the graph must still hold the restorer.
        assert generator.calls > 0
    else:
        assert generator.calls == 0


def test_estimate_blur_reads_length_and_angle_off_the_estimator(models, mnist_test):
    images, _, _ = defense_batch(mnist_test)
    predicted = models.blur_estimator(images).numpy()
    estimate = defenses.estimate_blur(models, images)
    length, angle = estimate.length, estimate.angle
    np.testing.assert_allclose(length, np.maximum(predicted[:, 0], 0), atol=1e-6)
    expected = np.degrees(np.arctan2(predicted[:, 2], predicted[:, 1]))
    np.testing.assert_allclose(angle, expected, atol=1e-3)


def test_a_method_without_its_network_names_the_missing_file():
    models = tiny_defense_models(with_optional=False)
    images, length, angle = _batch_of_zeros()
    defenses.run_methods(
        models, DefenseConfig(), [Method.NONE, Method.EGAN], images, length, angle
    )
    with pytest.raises(
        ModelFileError, match=r"gated needs encoder_blur\.keras, blur_est"
    ):
        defenses.run_methods(
            models, DefenseConfig(), [Method.GATED], images, length, angle
        )
    with pytest.raises(ModelFileError, match=r"classifier_augment\.keras"):
        defenses.check_methods_available(models, ["augment"])


def test_gated_through_the_hybrid_needs_the_mixture_classifier(models):
    import dataclasses

    without_mixture = dataclasses.replace(models, classifier_mixture=None)
    images, length, angle = _batch_of_zeros()
    config = DefenseConfig(gate_length=-1.0, gated_restorer="hybrid")
    with pytest.raises(ModelFileError, match=r"gated needs .*classifier_mixture"):
        defenses.run_methods(
            without_mixture, config, [Method.GATED], images, length, angle
        )
    assert "classifier_mixture.keras" in defenses.needed_files("gated", "hybrid")
    assert "classifier_mixture.keras" not in defenses.needed_files("gated")


@pytest.mark.parametrize(
    ("weight", "restorer"), [(0.5, Method.EGAN_BLUR), (2.0, Method.EGAN_REFINE)]
)
def test_the_hybrid_multiplies_the_two_readers_probabilities(
    models, mnist_test, weight, restorer
):
    images, length, angle = defense_batch(mnist_test)
    config = DefenseConfig(
        hybrid_weight=weight, hybrid_restorer=restorer, refine_steps=2
    )
    alone = defenses.run_methods(models, config, [Method.HYBRID], images, length, angle)
    # After its two halves ran on the same batch, it reuses their outputs.
    halves = [restorer, Method.AUGMENT_MIXTURE, Method.HYBRID]
    reused = defenses.run_methods(models, config, halves, images, length, angle)
    restored = reused[restorer]
    mixture = tf.nn.softmax(models.classifier_mixture(images)).numpy()
    product = mixture * tf.nn.softmax(restored.logits).numpy() ** weight
    for outputs in (alone, reused):
        np.testing.assert_allclose(
            tf.nn.softmax(outputs[Method.HYBRID].logits),
            product / product.sum(-1, keepdims=True),
            rtol=1e-4,
            atol=1e-5,
        )
        # The image it shows is G's: the hybrid is EGAN-based.
        np.testing.assert_allclose(
            outputs[Method.HYBRID].classified, restored.classified, atol=1e-5
        )
    assert defenses.uses_generator(Method.HYBRID)
    with pytest.raises(ValueError, match="Received: hybrid_restorer=gated"):
        DefenseConfig(hybrid_restorer="gated")


@pytest.mark.parametrize("weight", [0.0, -1.0, float("inf"), float("nan")])
def test_the_hybrid_weight_must_be_positive_and_finite(weight):
    with pytest.raises(ValueError, match=f"Received: hybrid_weight={weight}"):
        DefenseConfig(hybrid_weight=weight)


def test_parse_methods():
    assert defenses.parse_methods("none, egan,none") == (Method.NONE, Method.EGAN)
    assert defenses.parse_methods("all") == tuple(Method)
    for bad in ("", "egan,magic", "ALL"):
        with pytest.raises(ValueError, match="Methods are none, egan"):
            defenses.parse_methods(bad)


def test_defense_config_is_read_from_the_models_folder(tmp_path):
    assert defenses.load_defense_config(str(tmp_path)) == DefenseConfig()
    (tmp_path / "defense.json").write_text(
        json.dumps({"config": {"gate_length": 0.07}})
    )
    assert defenses.load_defense_config(str(tmp_path)).gate_length == 0.07
    (tmp_path / "defense.json").write_text(json.dumps({"config": {"gate": 1}}))
    with pytest.raises(ModelFileError, match=r"defense\.json"):
        defenses.load_defense_config(str(tmp_path))
    with pytest.raises(ValueError, match="refine_steps"):
        DefenseConfig(refine_steps=-1)


def test_the_gated_restorer_is_a_method_and_survives_json(tmp_path):
    config = DefenseConfig(gated_restorer="egan-refine", gate_confidence=0.9)
    assert config.gated_restorer is Method.EGAN_REFINE
    (tmp_path / "defense.json").write_text(
        json.dumps({"config": config_to_dict(config)})
    )
    assert defenses.load_defense_config(str(tmp_path)) == config
    with pytest.raises(ValueError, match="Received: gated_restorer=wiener"):
        DefenseConfig(gated_restorer="wiener")


def test_method_views_show_what_the_classifier_sees(models, mnist_test):
    images, _, _ = defense_batch(mnist_test, 4)
    views = defenses.method_views(
        models, DefenseConfig(), list(Method), images, GridSpec((0.2,), (30.0,))
    )
    titles = [title for title, _, _ in views]
    assert titles[0] == "blurred, C"
    assert titles[1:] == [str(m) for m in Method if m != Method.NONE]
    for _, seen, labels in views:
        assert seen.shape == (4, 28, 28, 1)
        assert labels.shape == (4,)


def test_a_confident_classifier_keeps_its_answer_through_the_gate(models, mnist_test):
    images, length, angle = defense_batch(mnist_test)
    always_blurred = {"gate_length": -1.0, "gated_restorer": "egan-blur"}
    sure = DefenseConfig(**always_blurred, gate_confidence=0.0)
    outputs = defenses.run_methods(
        models, sure, ["gated", "none"], images, length, angle
    )
    np.testing.assert_allclose(
        outputs[Method.GATED].logits, outputs[Method.NONE].logits
    )
    never_sure = DefenseConfig(**always_blurred, gate_confidence=1.5)
    outputs = defenses.run_methods(
        models, never_sure, ["gated", "egan-blur"], images, length, angle
    )
    np.testing.assert_allclose(
        outputs[Method.GATED].logits, outputs[Method.EGAN_BLUR].logits, atol=1e-6
    )


def test_the_config_defaults_are_the_shipped_settings():
    # One source of truth: the dataclass default is what defense.json ships.
    from conftest import SAVED_MODELS

    assert defenses.load_defense_config(SAVED_MODELS) == DefenseConfig()


def test_adding_a_method_means_one_registry_line():
    # Every method name has exactly one entry, and only the EGAN-based ones
    # say they use the generator.
    assert set(defenses.METHODS) == set(Method)
    assert {m for m in Method if defenses.uses_generator(m)} == set(
        defenses.EGAN_BASED_METHODS
    )
