"""The public contract of the exported defence: signature names, their input
and output keys, dtypes and shapes, and the TF Serving layout on disk.

This module imports neither TensorFlow nor Keras, so that clients
(`egan_tf.serving`) and documentation can read the contract alone.

Layout on disk, as TF Serving expects:

    <root>/models.config        text-proto config naming the model
    <root>/export.json          how each version was made and what it measures
    <root>/<version>/           integer version directories, 1, 2, ...
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os

from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES

SERVING_MODEL_NAME = "egan_defense"
MODELS_CONFIG_FILE = "models.config"
EXPORT_CARD_FILE = "export.json"
# Where the official docker image looks for models: /models/<model name>.
DOCKER_BASE_PATH = f"/models/{SERVING_MODEL_NAME}"
SAVED_MODEL_FILE = "saved_model.pb"
# A version is written here first and renamed to its number when complete;
# the model server ignores folder names that are not integers.
STAGING_PREFIX = ".staging-"


# The entry's key for what the export measured on its data set's test images;
# exports before Fashion-MNIST wrote it as LEGACY_MEASURED_KEY.
MEASURED_KEY = "measured_on_test"
LEGACY_MEASURED_KEY = "measured_on_mnist_test"


def measured_of(entry: dict) -> dict | None:
    """What an `export.json` entry measured, from either key."""
    return entry.get(MEASURED_KEY, entry.get(LEGACY_MEASURED_KEY))


class Signature(enum.StrEnum):
    """Names of the exported signatures (a public contract)."""

    SERVING_DEFAULT = "serving_default"
    BLUR = "blur"
    BLUR_AND_DEFEND = "blur_and_defend"
    CLASSIFY = "classify"
    DEFEND_ADAPTIVE = "defend_adaptive"
    DEFEND_GATED = "defend_gated"


@dataclasses.dataclass(frozen=True)
class TensorContract:
    """One input or output of a signature.

    Attributes:
        key: The key of the tensor in requests and responses.
        dtype: Its dtype's name, "float32" or "int64" (a NumPy and a
            TensorFlow name alike).
        shape: Its shape; None marks the dynamic batch dimension.
        description: What the tensor holds, for the README and `--help`.
    """

    key: str
    dtype: str
    shape: tuple[int | None, ...]
    description: str


@dataclasses.dataclass(frozen=True)
class SignatureContract:
    inputs: tuple[TensorContract, ...]
    outputs: tuple[TensorContract, ...]
    description: str


_IMAGES = TensorContract(
    "images", "float32", (None, *IMAGE_SHAPE), "images in [0, 1] (values are clipped)"
)
_LENGTH = TensorContract(
    "length", "float32", (None,), "blur length l per image, a fraction of the side"
)
_ANGLE = TensorContract("angle", "float32", (None,), "blur angle θ per image, degrees")
_DEFENDED_OUTPUTS = (
    TensorContract(
        "probabilities", "float32", (None, NUM_CLASSES), "softmax of C(G(E(x)))"
    ),
    TensorContract("label", "int64", (None,), "argmax of C(G(E(x)))"),
    TensorContract(
        "reconstruction", "float32", (None, *IMAGE_SHAPE), "G(E(x)), in [0, 1]"
    ),
    TensorContract(
        "undefended_probabilities", "float32", (None, NUM_CLASSES), "softmax of C(x)"
    ),
)

# The outputs of the defences beyond the paper (`defend_adaptive`,
# `defend_gated`).
_DEFENCE_OUTPUTS = (
    TensorContract(
        "probabilities", "float32", (None, NUM_CLASSES), "softmax of the defence"
    ),
    TensorContract("logits", "float32", (None, NUM_CLASSES), "the defence's logits"),
    TensorContract("label", "int64", (None,), "argmax of the defence"),
    TensorContract(
        "reconstruction",
        "float32",
        (None, *IMAGE_SHAPE),
        "the image the classifier saw (restored, or x itself)",
    ),
    TensorContract(
        "undefended_probabilities", "float32", (None, NUM_CLASSES), "softmax of C(x)"
    ),
)

SIGNATURES: dict[Signature, SignatureContract] = {
    Signature.SERVING_DEFAULT: SignatureContract(
        (_IMAGES,), _DEFENDED_OUTPUTS, "the paper's defence C(G(E(x)))"
    ),
    Signature.BLUR: SignatureContract(
        (_IMAGES, _LENGTH, _ANGLE),
        (TensorContract("images", "float32", (None, *IMAGE_SHAPE), "blurred images"),),
        "the motion blur used in training and evaluation",
    ),
    Signature.BLUR_AND_DEFEND: SignatureContract(
        (_IMAGES, _LENGTH, _ANGLE),
        (
            *_DEFENDED_OUTPUTS,
            TensorContract(
                "blurred", "float32", (None, *IMAGE_SHAPE), "the blurred images"
            ),
        ),
        "blur, then the defence, on the blurred images",
    ),
    Signature.DEFEND_ADAPTIVE: SignatureContract(
        (_IMAGES,),
        _DEFENCE_OUTPUTS,
        "the best defence measured beyond the paper (see export.json)",
    ),
    Signature.DEFEND_GATED: SignatureContract(
        (_IMAGES,),
        _DEFENCE_OUTPUTS,
        "C(x) where B finds x sharp, the gate's restorer elsewhere: the defence "
        "that never costs accuracy (see export.json)",
    ),
    Signature.CLASSIFY: SignatureContract(
        (_IMAGES,),
        (
            TensorContract(
                "probabilities", "float32", (None, NUM_CLASSES), "softmax of C(x)"
            ),
            TensorContract("label", "int64", (None,), "argmax of C(x)"),
        ),
        "the classifier C alone",
    ),
}


def existing_versions(root: str) -> list[int]:
    """The integer version directories under `root`, ascending."""
    if not os.path.isdir(root):
        return []
    return sorted(
        int(name)
        for name in os.listdir(root)
        if name.isdigit() and os.path.isdir(os.path.join(root, name))
    )


def exported_dataset(version_dir: str) -> str | None:
    """The data set whose networks the export in `version_dir` holds, as its
    folder's `export.json` records it; None where the card does not say (no
    card, or a version exported before cards named their data set)."""
    card_path = os.path.join(
        os.path.dirname(os.path.abspath(version_dir)), EXPORT_CARD_FILE
    )
    version = os.path.basename(os.path.normpath(version_dir))
    if not version.isdigit() or not os.path.isfile(card_path):
        return None
    try:
        with open(card_path, encoding="utf-8") as handle:
            versions = json.load(handle).get("versions", [])
    except (OSError, ValueError):
        # A card that cannot be read says nothing; the model still serves.
        return None
    for entry in versions:
        if entry.get("version") == int(version):
            return entry.get("dataset")
    return None


def next_version(root: str) -> int:
    """The next free version number: one more than the largest, or 1."""
    versions = existing_versions(root)
    return versions[-1] + 1 if versions else 1


def signature_card(names) -> dict[str, dict]:
    """The contract of the signatures `names`, as written to `export.json`."""

    def tensors(contracts):
        return {
            contract.key: {
                "dtype": contract.dtype,
                "shape": [-1 if size is None else size for size in contract.shape],
                "description": contract.description,
            }
            for contract in contracts
        }

    return {
        str(signature): {
            "description": contract.description,
            "inputs": tensors(contract.inputs),
            "outputs": tensors(contract.outputs),
        }
        for signature, contract in SIGNATURES.items()
        if str(signature) in names
    }


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went.

    Attributes:
        root: The folder of version directories.
        version: The integer version written.
        path: `root/version`, the SavedModel directory.
        op_types: Every op type in the graph, as walked by the op check.
        signatures: The names of the exported signatures.
    """

    root: str
    version: int
    path: str
    op_types: frozenset[str]
    signatures: tuple[str, ...] = ()
