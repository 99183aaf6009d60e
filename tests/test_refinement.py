"""Tests of the latent (and blur-kernel) refinement behind `egan-refine` and
the gate's restorer, on toy networks."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import defense_batch, tiny_defense_models

from egan_tf import defenses
from egan_tf.blur import apply_motion_blur
from egan_tf.defenses import DefenseConfig, Method
from egan_tf.defenses.refinement import KERNEL_FLOOR
from egan_tf.kernel_blur import check_kernels
from egan_tf.kernels import fourier_kernels


@pytest.fixture(scope="module")
def models():
    return tiny_defense_models()


def test_refining_the_latent_finds_a_latent_that_explains_the_image(models):
    # An image G can draw exactly, blurred; the search starts off the mark.
    rng = np.random.default_rng(0)
    target = tf.constant(rng.normal(size=[6, 8]), tf.float32)
    length, angle = tf.fill([6], 0.2), tf.fill([6], 30.0)
    images = apply_motion_blur(models.generator(target), length, angle)
    start = target + tf.constant(rng.normal(scale=0.5, size=[6, 8]), tf.float32)

    def error(latent):
        rendered = apply_motion_blur(models.generator(latent), length, angle)
        return float(tf.reduce_sum(tf.square(rendered - images)))

    refined = defenses.refine_latent(
        models.generator, start, images, length, angle, steps=30, learning_rate=0.05
    )
    assert error(refined) < 0.5 * error(start)
    unchanged = defenses.refine_latent(
        models.generator, start, images, length, angle, steps=0, learning_rate=0.05
    )
    np.testing.assert_array_equal(unchanged, start)


def test_refining_the_kernel_too_explains_blur_the_formula_cannot(models):
    # Images G draws exactly, blurred by camera shake; the kernel starts from
    # the formula's streak at a wrong (l, θ) and is refined with the latent.
    from egan_tf.kernel_blur import apply_kernel_blur
    from egan_tf.kernels import example_seeds, shake_kernels

    rng = np.random.default_rng(2)
    target = tf.constant(rng.normal(size=[6, 8]), tf.float32)
    shake = shake_kernels(
        tf.fill([6], 8.0), example_seeds(tf.constant([1, 2], tf.int64), tf.range(6))
    )
    images = apply_kernel_blur(models.generator(target), shake)
    start = target + tf.constant(rng.normal(scale=0.5, size=[6, 8]), tf.float32)
    length, angle = tf.fill([6], 0.2), tf.fill([6], 30.0)

    def refined_error(kernel_learning_rate):
        path, kernels = defenses.refine_latent_and_kernel_path(
            models.generator, start, images, length, angle, 30, 0.05,
            kernel_learning_rate, 15,
        )  # fmt: skip
        check_kernels(kernels.numpy(), (28, 28))
        rendered = apply_kernel_blur(models.generator(path[-1]), kernels)
        return float(tf.reduce_sum(tf.square(rendered - images))), kernels

    fixed_error, fixed_kernels = refined_error(0.0)
    joint_error, _ = refined_error(0.2)
    assert joint_error < 0.5 * fixed_error
    # Without a kernel step size the kernel stays the start: the streak with
    # a small floor everywhere, renormalised.
    streak = fourier_kernels(length, angle, 15).numpy() + KERNEL_FLOOR
    np.testing.assert_allclose(
        fixed_kernels, streak / streak.sum((1, 2), keepdims=True), atol=1e-6
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("refine_kernel_size", 4), ("refine_kernel_size", 29),
     ("refine_kernel_learning_rate", -0.1)],
)  # fmt: skip
def test_bad_kernel_refinement_settings_are_refused(name, value):
    with pytest.raises(ValueError, match=f"Received: {name}={value}"):
        DefenseConfig(**{name: value})


def test_egan_refine_runs_the_kernel_refinement_when_configured(models, mnist_test):
    images, length, angle = defense_batch(mnist_test)
    formula = DefenseConfig(refine_steps=3, refine_kernel_size=0)
    blind = DefenseConfig(
        refine_steps=3, refine_kernel_size=15, refine_kernel_learning_rate=0.2
    )
    outputs = [
        defenses.run_methods(models, config, ["egan-refine"], images, length, angle)[
            Method.EGAN_REFINE
        ]
        for config in (formula, blind)
    ]
    assert np.all(np.isfinite(outputs[1].logits.numpy()))
    assert not np.allclose(outputs[0].classified, outputs[1].classified)


def test_the_refinement_path_passes_through_every_shorter_run(models):
    rng = np.random.default_rng(1)
    start = tf.constant(rng.normal(size=[3, 8]), tf.float32)
    images = tf.constant(rng.uniform(size=[3, 28, 28, 1]), tf.float32)
    length, angle = tf.constant([0.0, 0.1, 0.3]), tf.constant([0.0, 15.0, 80.0])
    path = defenses.refine_latent_path(
        models.generator, start, images, length, angle, steps=6, learning_rate=0.05
    )
    assert len(path) == 7
    np.testing.assert_array_equal(path[0], start)
    for steps in (1, 4, 6):
        shorter = defenses.refine_latent(
            models.generator, start, images, length, angle, steps, 0.05
        )
        np.testing.assert_allclose(path[steps], shorter, atol=1e-6)
    assert not np.allclose(path[1], path[6])


@pytest.mark.parametrize("kernel_size", [0, 15])
def test_a_traced_refinement_holds_its_step_once_whatever_the_steps(
    models, kernel_size
):
    # The refinement was a Python loop: a graph held one copy of the step per
    # Adam step, which made the exported defences slow to trace and large.
    images = tf.TensorSpec([None, 28, 28, 1], tf.float32)
    latents = tf.TensorSpec([None, 8], tf.float32)
    per_image = tf.TensorSpec([None], tf.float32)

    def graph_size(steps):
        function = tf.function(
            lambda start, x, length, angle: defenses.refine_latent(
                models.generator,
                start,
                x,
                length,
                angle,
                steps,
                0.05,
                0.2,
                kernel_size,
            )
        )
        graph = function.get_concrete_function(
            latents, images, per_image, per_image
        ).graph
        return len(graph.as_graph_def().node), {
            op.type for op in graph.get_operations()
        }

    (few, few_types), (many, _) = graph_size(2), graph_size(12)
    assert few == many
    assert "While" in few_types or "StatelessWhile" in few_types
