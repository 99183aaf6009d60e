"""Images a user brings: PNG or JPEG files, a folder of labelled ones, or an
`.npz`.

Every reader returns float32 images [N, 28, 28, 1] in [0, 1], white digits on
black as in MNIST, and refuses bad input with one line naming the file and
the problem (`ImagesError`), before any model is loaded. `ImageReading` says
whether images of another size are fitted to 28x28 and whether dark-on-light
images are inverted. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES
from egan_tf.errors import ImagesError
from egan_tf.image_reading import ImageReading

__all__ = [
    "ImageReading",
    "ImagesError",
    "LabelledImages",
    "expand_image_paths",
    "image_files_in",
    "load_image_files",
    "load_labelled_images",
]

# PIL's modes of 16- and 32-bit grey images; everything else is read as 8-bit.
_WIDE_GREY_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I": 65535}
# The files read as images: PNG, lossless as MNIST is stored, and JPEG, as
# cameras and phones write photographs.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# The white level of 8-bit grey images, as in MNIST and most image files.
MAX_GREY_LEVEL = 255
NPZ_SUFFIX = ".npz"


def _grey_levels(image, reading: ImageReading) -> tuple[np.ndarray, int]:
    """The image's grey levels and its white level (255, or 65535 for 16-bit).

    Transparent pixels are background: black for light-on-dark images,
    white for dark-on-light ones (`reading.invert`). Converting to grey
    alone drops the alpha channel and keeps the colour under it, most often
    black, so that black ink drawn on a transparent canvas came out black on
    black."""
    from PIL import Image

    if image.mode in _WIDE_GREY_MODES:
        return np.asarray(image, np.int64), _WIDE_GREY_MODES[image.mode]
    if image.has_transparency_data:
        background = MAX_GREY_LEVEL if reading.invert else 0
        canvas = Image.new("RGBA", image.size, (background,) * 3 + (MAX_GREY_LEVEL,))
        image = Image.alpha_composite(canvas, image.convert("RGBA"))
    return np.asarray(image.convert("L")), MAX_GREY_LEVEL


def load_image_files(
    paths: Sequence[str], reading: ImageReading | None = None
) -> np.ndarray:
    """Reads PNG or JPEG files as a batch of grey images.

    Colour images are converted to grey; 16-bit grey images are scaled by
    their own white level (65535), not clipped; transparent pixels are
    background (black, or white with `reading.invert`). White digits on
    black, as in MNIST, are expected unless `reading.invert`; images must be
    28x28 unless `reading.resize`.

    Returns:
        float32 [len(paths), 28, 28, 1] in [0, 1].

    Raises:
        ImagesError: One line naming a file that cannot be read or is not 28x28.
    """
    from PIL import Image, UnidentifiedImageError

    reading = reading or ImageReading()
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                levels, white = _grey_levels(image, reading)
        except (OSError, UnidentifiedImageError) as error:
            raise ImagesError(f"Cannot read image {path}: {error}") from error
        grey = levels.astype(np.float32) / float(white)
        images.append(reading.fit(grey, path)[..., np.newaxis])
    return np.stack(images) if images else np.zeros([0, *IMAGE_SHAPE], np.float32)


def image_files_in(folder: str) -> list[str]:
    """The files of `folder`, sorted, all of which must be PNG or JPEG images.

    Raises:
        ImagesError: Naming the first file that is not a `.png`, `.jpg` or
            `.jpeg`, or for a folder with none.
    """
    names = sorted(
        name
        for name in os.listdir(folder)
        if not name.startswith(".") and os.path.isfile(os.path.join(folder, name))
    )
    for name in names:
        if not name.lower().endswith(IMAGE_SUFFIXES):
            raise ImagesError(
                f"Only PNG or JPEG images may be in {folder}. "
                f"Received: {os.path.join(folder, name)}"
            )
    return [os.path.join(folder, name) for name in names]


@dataclasses.dataclass(frozen=True)
class LabelledImages:
    """Images with their true labels, as a user brought them.

    Attributes:
        images: float32 [N, 28, 28, 1] in [0, 1], N ≥ 1.
        labels: int64 [N], classes 0..9.
        names: N names, one per image: its file, or its index in the `.npz`.
        source: The path the images were read from.
    """

    images: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _folder_key(name: str) -> str:
    # Folder names cannot hold "/" ("T-shirt/top"), and people write "Ankle
    # boot" as ankle_boot or ankle-boot: compare without separators or case.
    return "".join(
        character for character in name if character not in "/_- "
    ).casefold()


def _label_of_folder(name: str, class_names: Sequence[str] | None) -> int | None:
    """The label a folder's name gives: its number, 0 to 9, or, with
    `class_names`, the index of the class it names; None for neither."""
    if name.isdigit():
        return int(name) if int(name) < NUM_CLASSES else None
    if class_names is None:
        return None
    keys = [_folder_key(class_name) for class_name in class_names]
    return keys.index(_folder_key(name)) if _folder_key(name) in keys else None


def _label_folders(
    root: str, class_names: Sequence[str] | None
) -> list[tuple[int, str]]:
    entries = sorted(name for name in os.listdir(root) if not name.startswith("."))
    named = (
        ""
        if class_names is None
        else f" or by class name ({', '.join(class_names)}; '/' as '_')"
    )
    folders = []
    for name in entries:
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            raise ImagesError(
                f"{root} must hold only folders named by label, 0 to "
                f"{NUM_CLASSES - 1}{named}. Received: the file {path}"
            )
        label = _label_of_folder(name, class_names)
        if label is None:
            raise ImagesError(
                f"Label folders must be named 0 to {NUM_CLASSES - 1}{named}. "
                f"Received: {path}"
            )
        folders.append((label, path))
    return folders


def _labelled_image_files(
    root: str, class_names: Sequence[str] | None
) -> tuple[list[str], list[int]]:
    """The image files of `root/<label>/` folders, and the label of each."""
    paths, labels = [], []
    for label, folder in _label_folders(root, class_names):
        files = image_files_in(folder)
        paths += files
        labels += [label] * len(files)
    return paths, labels


def _load_folder(
    root: str, class_names: Sequence[str] | None, reading: ImageReading
) -> LabelledImages:
    paths, labels = _labelled_image_files(root, class_names)
    if not paths:
        raise ImagesError(
            f"No images found. Received: {root} with no PNG or JPEG files in "
            "<label>/ folders"
        )
    return LabelledImages(
        load_image_files(paths, reading),
        np.asarray(labels, np.int64),
        tuple(os.path.relpath(path, root) for path in paths),
        root,
    )


def _npz_images(path: str, images: np.ndarray, reading: ImageReading) -> np.ndarray:
    height, width, channels = IMAGE_SHAPE
    shape = list(images.shape)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    fits = images.ndim == 4 and images.shape[3] == channels and min(shape[1:3]) > 0
    if not fits or (not reading.resize and images.shape[1:3] != (height, width)):
        sizes = "H, W" if reading.resize else f"{height}, {width}"
        raise ImagesError(
            f"{path}: images must be [N, {sizes}] or [N, {sizes}, 1]"
            f"{'' if reading.resize else ' (--resize fits other sizes)'}. "
            f"Received: shape {shape}"
        )
    images = _npz_grey_levels(path, images)
    if not (reading.resize or reading.invert):
        return images
    fitted = [
        reading.fit(image[..., 0], f"{path}[{index}]")
        for index, image in enumerate(images)
    ]
    return (
        np.stack(fitted)[..., np.newaxis]
        if fitted
        else np.zeros([0, *IMAGE_SHAPE], np.float32)
    )


def _npz_grey_levels(path: str, images: np.ndarray) -> np.ndarray:
    """`images` [N, H, W, 1] as float32 in [0, 1], from uint8 or float."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / MAX_GREY_LEVEL
    if not np.issubdtype(images.dtype, np.floating):
        raise ImagesError(
            f"{path}: images must be uint8 (0-255) or float (0-1). "
            f"Received: dtype {images.dtype}"
        )
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise ImagesError(f"{path}: float images must be finite. Received: NaN or inf")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        low, high = float(images.min()), float(images.max())
        raise ImagesError(
            f"{path}: float images must be in [0, 1] (uint8 for 0-255). "
            f"Received: values from {low:g} to {high:g}"
        )
    return images


def _npz_labels(path: str, labels: np.ndarray, count: int) -> np.ndarray:
    if labels.ndim != 1:
        raise ImagesError(
            f"{path}: labels must be [N]. Received: shape {list(labels.shape)}"
        )
    if labels.shape[0] != count:
        raise ImagesError(
            f"{path}: images and labels must have the same N. "
            f"Received: {count} images, {labels.shape[0]} labels"
        )
    if np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ImagesError(
            f"{path}: labels must be integers. Received: dtype {labels.dtype}"
        )
    outside = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if outside.size:
        raise ImagesError(
            f"{path}: labels must be 0 to {NUM_CLASSES - 1}. Received: {int(outside[0])}"
        )
    return labels.astype(np.int64)


def _load_npz(path: str, reading: ImageReading) -> LabelledImages:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise ImagesError(f"Cannot read {path} as an .npz archive: {error}") from error
    for key in ("images", "labels"):
        if key not in arrays:
            raise ImagesError(
                f"{path} must hold arrays 'images' and 'labels'. "
                f"Received: {sorted(arrays)}"
            )
    images = _npz_images(path, arrays["images"], reading)
    if images.shape[0] == 0:
        raise ImagesError(f"{path} holds no images. Received: N=0")
    labels = _npz_labels(path, arrays["labels"], images.shape[0])
    return LabelledImages(
        images, labels, tuple(f"{index}" for index in range(len(labels))), path
    )


def load_labelled_images(
    path: str,
    class_names: Sequence[str] | None = None,
    reading: ImageReading | None = None,
) -> LabelledImages:
    """Reads labelled images from an `.npz` or a folder `path/<label>/*.png`
    (or `.jpg`).

    An `.npz` holds `images` ([N, 28, 28] or [N, 28, 28, 1], uint8 0-255 or
    float in [0, 1]) and `labels` ([N] integers 0-9). A folder holds one
    sub-folder per label of 28x28 PNG or JPEG files and nothing else, named 0 to 9
    or, when `class_names` (the data set's, in label order) are given, by
    class name: "Ankle boot", "ankle_boot" and "T-shirt_top" name classes
    of Fashion-MNIST (case and the separators "/", "_", "-" and " " aside).
    `reading` may fit other sizes and invert dark-on-light images (see
    `ImageReading`; by default neither).

    Raises:
        ImagesError: One line naming the file and the problem.
    """
    reading = reading or ImageReading()
    if os.path.isdir(path):
        return _load_folder(path, class_names, reading)
    if not os.path.isfile(path):
        raise ImagesError(f"No such file or folder. Received: {path}")
    if not path.lower().endswith(NPZ_SUFFIX):
        raise ImagesError(
            "Images must be an .npz file or a folder of <label>/*.png (or .jpg). "
            f"Received: {path}"
        )
    return _load_npz(path, reading)


def expand_image_paths(
    paths: Sequence[str], class_names: Sequence[str] | None = None
) -> tuple[list[str], list[int] | None]:
    """Image files from files and folders, with labels when every folder is a
    labelled one (`folder/<label>/*.png`, labels named as
    `load_labelled_images` reads them).

    A folder of image files contributes its files, sorted; a folder of label
    folders contributes theirs, labelled. Labels are returned only when every
    path is such a labelled folder.

    Returns:
        (files, labels or None).
    """
    files, labels, labelled = [], [], True
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            labelled = False
            continue
        subfolders = [
            name
            for name in os.listdir(path)
            if os.path.isdir(os.path.join(path, name)) and not name.startswith(".")
        ]
        if subfolders:
            found, found_labels = _labelled_image_files(path, class_names)
            files += found
            labels += found_labels
        else:
            files += image_files_in(path)
            labelled = False
    if not files:
        raise ImagesError(f"No PNG or JPEG images found. Received: {list(paths)}")
    return files, labels if labelled else None
