"""Tests of the figures drawn from evaluation records."""

import matplotlib.pyplot as plt
import numpy as np

from egan_tf.plotting import (
    family_curves_figure,
    grid_heatmaps_figure,
    methods_curves_figure,
    save_figure,
)


def _payload(blur, noise=0.0):
    grid = [
        {
            "applied_length": length,
            "angle": angle,
            "methods": {"none": 1 - length - angle / 1000, "gated": 0.99},
        }
        for length in (0.1, 0.2)
        for angle in (0.0, 45.0)
    ]
    return {
        "blur": blur,
        "noise": noise,
        "length_scale": 6.0,
        "examples": 10,
        "clean_methods": {"none": 1.0, "gated": 1.0},
        "grid": grid,
    }


def test_methods_curves_draw_each_method_per_grid_at_the_mean_over_angles(tmp_path):
    figure = methods_curves_figure([_payload("fourier"), _payload("spatial")])
    axes = figure.axes
    assert len(axes) == 4
    for axis in axes:
        assert [line.get_label() for line in axis.get_lines()] == ["none", "gated"]
    none_line = axes[0].get_lines()[0]
    np.testing.assert_allclose(none_line.get_xdata(), [0.0, 0.1, 0.2])
    # Mean over θ = 0 and 45: 1 - l - 0.0225, in %.
    np.testing.assert_allclose(none_line.get_ydata(), [100.0, 87.75, 77.75])
    # Row-major: the second row (axes 2 and 3) is the zoom.
    assert [axis.get_ylim()[0] for axis in axes[2:]] == [90.0, 90.0]
    assert axes[0].get_ylim()[0] < 90.0
    path = tmp_path / "curves.png"
    save_figure(figure, str(path))
    assert path.stat().st_size > 0
    plt.close("all")


def test_family_curves_put_noise_on_rows_and_families_on_columns(tmp_path):
    payloads = [
        _payload(blur, noise)
        for noise in (0.02, 0.0)
        for blur in ("fourier", "shake", "trail")
    ]
    figure = family_curves_figure(payloads, floor=60.0)
    axes = figure.axes
    assert len(axes) == 6
    sigma = "\N{GREEK SMALL LETTER SIGMA}"
    titles = [axis.get_title().replace(sigma, "s") for axis in axes]
    assert titles[:3] == [
        "fourier, noise s = 0",
        "shake, noise s = 0",
        "trail, noise s = 0",
    ]
    assert titles[3] == "fourier, noise s = 0.02"
    for axis in axes:
        assert [line.get_label() for line in axis.get_lines()] == ["none", "gated"]
        assert axis.get_ylim() == (60.0, 100.0)
    assert "extent" in axes[1].get_xlabel()
    path = tmp_path / "families.png"
    save_figure(figure, str(path))
    assert path.stat().st_size > 0
    plt.close("all")


def test_heatmaps_name_the_data_set_of_the_test_images():
    from egan_tf.grid import GridPoint, GridResult

    def result(data):
        point = GridPoint(0.01, 0.0, 0.06, 0.9, 0.8, 0.9, 0.8, 9, 10, {})
        return GridResult(1.0, 0.9, 6.0, (0.01,), (0.0,), 10, [point], data)

    for data, title in (
        ({"dataset": "fashion_mnist"}, "10 Fashion-MNIST test images, lengths x 6"),
        ({"dataset": "mnist"}, "10 MNIST test images, lengths x 6"),
        (None, "10 MNIST test images, lengths x 6"),
    ):
        figure = grid_heatmaps_figure(result(data))
        assert figure._suptitle.get_text() == title
        plt.close(figure)
