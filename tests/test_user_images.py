"""Tests of reading the images a user brings: PNG and JPEG files, labelled folders and
`.npz` archives, and the one-line refusals of bad input."""

import numpy as np
import pytest
from PIL import Image

from egan_tf import user_images
from egan_tf.user_images import ImageReading, ImagesError, load_labelled_images


def _digit(value: int = 255) -> np.ndarray:
    digit = np.zeros((28, 28), np.uint8)
    digit[5:20, 13:15] = value
    return digit


def test_png_files_become_a_batch_in_the_unit_interval(tmp_path):
    digit = np.zeros((28, 28), np.uint8)
    digit[5:20, 13:15] = 255
    Image.fromarray(digit).save(tmp_path / "one.png")
    Image.fromarray(np.stack([digit] * 3, axis=-1)).save(tmp_path / "rgb.png")
    batch = user_images.load_image_files(
        [str(tmp_path / "one.png"), str(tmp_path / "rgb.png")]
    )
    assert batch.shape == (2, 28, 28, 1)
    assert batch.dtype == np.float32
    assert (batch.min(), batch.max()) == (0.0, 1.0)
    np.testing.assert_allclose(batch[0], batch[1], atol=1 / 255)

    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(
        ValueError, match=r"28x28 pixels .*\. Received: .*big\.png of 30x30"
    ):
        user_images.load_image_files([str(tmp_path / "big.png")])
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"Cannot read image .*text\.png"):
        user_images.load_image_files([str(tmp_path / "text.png")])


def test_a_16_bit_png_is_scaled_by_its_own_white_level(tmp_path):
    # Before: converted to 8-bit by clipping, so every grey above 255 of
    # 65535 became white.
    levels = np.linspace(0, 65535, 28 * 28).reshape(28, 28).astype(np.uint16)
    Image.fromarray(levels).save(tmp_path / "wide.png")
    with Image.open(tmp_path / "wide.png") as image:
        assert image.mode.startswith("I")  # PIL reads it as 16-bit grey
    batch = user_images.load_image_files([str(tmp_path / "wide.png")])
    np.testing.assert_allclose(batch[0, ..., 0], levels / 65535.0, atol=1e-6)


def _labelled_folder(root, counts: dict[str, int]):
    for label, count in counts.items():
        (root / label).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(_digit(100 + index)).save(root / label / f"{index}.png")
    return root


def test_a_labelled_folder_gives_images_labels_and_names(tmp_path):
    root = _labelled_folder(tmp_path / "mine", {"3": 2, "7": 1})
    loaded = load_labelled_images(str(root))
    assert loaded.images.shape == (3, 28, 28, 1)
    assert loaded.labels.tolist() == [3, 3, 7]
    assert loaded.names == ("3/0.png", "3/1.png", "7/0.png")
    np.testing.assert_allclose(loaded.images[2, 5, 13, 0], 100 / 255)


def test_label_folders_may_be_named_by_class_name(tmp_path):
    # Before, Fashion-MNIST users had to name their folders 0 to 9.
    from egan_tf.datasets import dataset_spec

    class_names = dataset_spec("fashion_mnist").class_names
    root = _labelled_folder(
        tmp_path / "clothes", {"ankle_boot": 1, "Sneaker": 1, "T-shirt_top": 1, "3": 1}
    )
    loaded = load_labelled_images(str(root), class_names)
    assert dict(zip(loaded.names, loaded.labels.tolist(), strict=True)) == {
        "3/0.png": 3, "Sneaker/0.png": 7, "T-shirt_top/0.png": 0,
        "ankle_boot/0.png": 9,
    }  # fmt: skip
    _, labels = user_images.expand_image_paths([str(root)], class_names)
    assert sorted(labels) == [0, 3, 7, 9]
    # Without the data set's names only numbers are labels; a name that is no
    # class is refused in one line that lists the names.
    with pytest.raises(ImagesError, match=r"named 0 to 9\. Received: .*Sneaker"):
        load_labelled_images(str(root))
    (root / "Hat").mkdir()
    with pytest.raises(ImagesError, match=r"or by class name \(T-shirt/top, .*Hat"):
        load_labelled_images(str(root), class_names)


@pytest.mark.parametrize("layout", ["uint8 [N, 28, 28]", "float [N, 28, 28, 1]"])
def test_an_npz_of_either_dtype_and_rank_gives_the_same_images(tmp_path, layout):
    digits = np.stack([_digit(), _digit(51)])
    images = digits if layout.startswith("uint8") else digits[..., None] / 255.0
    path = tmp_path / "mine.npz"
    np.savez(path, images=images, labels=np.array([1, 4]))
    loaded = load_labelled_images(str(path))
    assert loaded.images.dtype == np.float32
    np.testing.assert_allclose(loaded.images[..., 0], digits / 255.0, atol=1e-7)
    assert loaded.labels.tolist() == [1, 4]
    assert loaded.names == ("0", "1")


def _scans() -> np.ndarray:
    """Two dark-on-light uint8 scans of 56x56 (ink 0 on paper 255)."""
    scans = np.full((2, 56, 56), 255, np.uint8)
    scans[0, 10:46, 26:30] = 0
    scans[1, 20:24, 8:48] = 0
    return scans


def _write_scans(tmp_path, source: str) -> str:
    if source == "npz":
        path = tmp_path / "scans.npz"
        np.savez(path, images=_scans(), labels=np.array([1, 7]))
        return str(path)
    root = tmp_path / "scans"
    for label, scan in zip(("1", "7"), _scans(), strict=True):
        (root / label).mkdir(parents=True)
        Image.fromarray(scan).save(root / label / "scan.png")
    return str(root)


@pytest.mark.parametrize("source", ["npz", "folder"])
def test_larger_dark_on_light_images_are_read_when_asked(tmp_path, source):
    path = _write_scans(tmp_path, source)
    with pytest.raises(ImagesError, match=r"--resize fits other sizes"):
        load_labelled_images(path)
    reading = ImageReading(resize=True, invert=True)
    loaded = load_labelled_images(path, reading=reading)
    assert loaded.images.shape == (2, 28, 28, 1)
    assert loaded.labels.tolist() == [1, 7]
    expected = [reading.fit(scan / 255.0, "scan") for scan in _scans()]
    np.testing.assert_allclose(loaded.images[..., 0], expected, atol=1e-6)
    # Light strokes on a black background, as MNIST's.
    assert loaded.images[0, 0, 0, 0] == 0.0
    assert loaded.images[0, 14, 14, 0] == pytest.approx(1.0)


def test_jpeg_photos_are_read_beside_png_files(tmp_path):
    # Phones and cameras write JPEG; folders of them used to be refused as
    # "Only PNG images".
    root = tmp_path / "photos"
    (root / "4").mkdir(parents=True)
    digit = _digit()
    Image.fromarray(digit).save(root / "4" / "a.png")
    Image.fromarray(digit).save(root / "4" / "b.JPG", quality=95)
    Image.fromarray(digit).save(root / "4" / "c.jpeg", quality=95)
    loaded = load_labelled_images(str(root))
    assert loaded.names == ("4/a.png", "4/b.JPG", "4/c.jpeg")
    assert loaded.labels.tolist() == [4, 4, 4]
    # JPEG is lossy: its grey levels stay near the PNG's.
    for jpeg in loaded.images[1:]:
        assert np.abs(jpeg - loaded.images[0]).mean() < 0.02


@pytest.mark.parametrize("ink", ["black", "white"])
def test_transparent_pixels_are_the_background(tmp_path, ink):
    # A digit drawn on a transparent canvas, as paint programs save it. Black
    # ink used to come out black on black: the alpha channel was dropped.
    digit = _digit()
    colour = np.full((28, 28), 0 if ink == "black" else 255, np.uint8)
    rgba = np.stack([colour, colour, colour, digit], axis=-1)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "drawn.png")
    reading = ImageReading(invert=ink == "black")
    batch = user_images.load_image_files([str(tmp_path / "drawn.png")], reading)
    np.testing.assert_allclose(batch[0, ..., 0], digit / 255.0, atol=1 / 255)


def _npz(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


GOOD_IMAGES = np.zeros((2, 28, 28), np.uint8)
BAD_NPZ = {
    "missing labels": (
        {"images": GOOD_IMAGES},
        r"must hold arrays 'images' and 'labels'",
    ),
    "shapes that differ": (
        {"images": GOOD_IMAGES, "labels": np.array([1, 2, 3])},
        r"same N\. Received: 2 images, 3 labels",
    ),
    "a label outside 0-9": (
        {"images": GOOD_IMAGES, "labels": np.array([1, 10])},
        r"labels must be 0 to 9\. Received: 10",
    ),
    "N = 0": (
        {"images": np.zeros((0, 28, 28), np.uint8), "labels": np.zeros(0, np.int64)},
        r"no images\. Received: N=0",
    ),
    "floats above 1": (
        {"images": np.full((2, 28, 28), 255.0), "labels": np.array([1, 2])},
        r"in \[0, 1\] \(uint8 for 0-255\)\. Received: values from 255 to 255",
    ),
    "NaN": (
        {"images": np.full((2, 28, 28), np.nan), "labels": np.array([1, 2])},
        r"finite",
    ),
    "int32 images": (
        {"images": GOOD_IMAGES.astype(np.int32), "labels": np.array([1, 2])},
        r"uint8 \(0-255\) or float \(0-1\)\. Received: dtype int32",
    ),
    "images of 32x32": (
        {"images": np.zeros((2, 32, 32), np.uint8), "labels": np.array([1, 2])},
        r"\[N, 28, 28\] or \[N, 28, 28, 1\] \(--resize fits other sizes\)\. "
        r"Received: shape \[2, 32, 32\]",
    ),
    "labels of rank 2": (
        {"images": GOOD_IMAGES, "labels": np.array([[1, 2]])},
        r"labels must be \[N\]",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_NPZ))
def test_a_bad_npz_is_refused_in_one_line_naming_the_file(tmp_path, case):
    arrays, message = BAD_NPZ[case]
    path = _npz(tmp_path, **arrays)
    with pytest.raises(ImagesError, match=message) as raised:
        load_labelled_images(str(path))
    text = str(raised.value)
    assert "\n" not in text
    assert "bad.npz" in text


def test_a_bad_folder_is_refused_in_one_line_naming_the_file(tmp_path):
    root = _labelled_folder(tmp_path / "mine", {"2": 1})
    (root / "2" / "notes.txt").write_text("not an image")
    with pytest.raises(
        ImagesError, match=r"Only PNG or JPEG images .* Received: .*notes\.txt"
    ):
        load_labelled_images(str(root))
    (root / "2" / "notes.txt").unlink()
    (root / "eleven").mkdir()
    with pytest.raises(ImagesError, match=r"named 0 to 9\. Received: .*eleven"):
        load_labelled_images(str(root))
    (root / "eleven").rmdir()
    (root / "2" / "broken.png").write_text("not a png")
    with pytest.raises(ImagesError, match=r"Cannot read image .*broken\.png"):
        load_labelled_images(str(root))
    with pytest.raises(ImagesError, match=r"\.npz file or a folder"):
        load_labelled_images(str(root / "2" / "0.png"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImagesError, match="No images found"):
        load_labelled_images(str(empty))


def test_png_paths_expand_from_plain_and_labelled_folders(tmp_path):
    labelled = _labelled_folder(tmp_path / "labelled", {"1": 2, "5": 1})
    files, labels = user_images.expand_image_paths([str(labelled)])
    assert [f.rsplit("/", 2)[-2] for f in files] == ["1", "1", "5"]
    assert labels == [1, 1, 5]
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("b.png", "a.png"):
        Image.fromarray(_digit()).save(plain / name)
    files, labels = user_images.expand_image_paths([str(plain)])
    assert [f.rsplit("/", 1)[-1] for f in files] == ["a.png", "b.png"]
    assert labels is None
