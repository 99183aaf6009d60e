"""One SavedModel with the blur, the EGAN and the classifier, for TF Serving.

The export is written with Keras 3's `keras.export.ExportArchive`, which tracks
the variables of every network so that the session-based loader of
`tensorflow_model_server` finds them. Every graph op is a core TensorFlow op
(the blur is `tf.signal`), so the stock model server loads it with no Python.

The public contract is `SIGNATURES`: the signature names, their input and
output keys, dtypes and shapes. TF Serving does not check a request against a
signature's shapes, so every serving function checks its own inputs in the
graph and fails the request with InvalidArgument naming the bad input.

Layout on disk, as TF Serving expects:

    <root>/models.config        text-proto config naming the model
    <root>/export.json          how each version was made and what it measures
    <root>/<version>/           integer version directories, 1, 2, ...
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from egan_tf.blur import apply_motion_blur
from egan_tf.config import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    config_to_dict,
    write_json_atomically,
)
from egan_tf.data import MnistArrays
from egan_tf.defenses import (
    DEFENSE_CONFIG_FILE,
    DefenseConfig,
    DefenseModels,
    Method,
    load_defense_file,
    load_defense_models,
    make_method_functions,
    needed_files,
)
from egan_tf.model_io import (
    CLASSIFIER_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    ShippedModels,
    load_shipped_models,
)

SERVING_MODEL_NAME = "egan_defense"
MODELS_CONFIG_FILE = "models.config"
EXPORT_CARD_FILE = "export.json"
# Where the official docker image looks for models: /models/<model name>.
DOCKER_BASE_PATH = f"/models/{SERVING_MODEL_NAME}"
SAVED_MODEL_FILE = "saved_model.pb"
# The op types that call back into a Python interpreter; the model server has none.
PYTHON_FUNCTION_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


class Signature(enum.StrEnum):
    """Names of the exported signatures (a public contract)."""

    SERVING_DEFAULT = "serving_default"
    BLUR = "blur"
    BLUR_AND_DEFEND = "blur_and_defend"
    CLASSIFY = "classify"
    DEFEND_ADAPTIVE = "defend_adaptive"


@dataclasses.dataclass(frozen=True)
class TensorContract:
    """One input or output of a signature.

    Attributes:
        key: The key of the tensor in requests and responses.
        dtype: Its TensorFlow dtype.
        shape: Its shape; None marks the dynamic batch dimension.
        description: What the tensor holds, for the README and `--help`.
    """

    key: str
    dtype: tf.DType
    shape: tuple[int | None, ...]
    description: str


@dataclasses.dataclass(frozen=True)
class SignatureContract:
    inputs: tuple[TensorContract, ...]
    outputs: tuple[TensorContract, ...]
    description: str


_IMAGES = TensorContract(
    "images", tf.float32, (None, *IMAGE_SHAPE), "images in [0, 1] (values are clipped)"
)
_LENGTH = TensorContract(
    "length", tf.float32, (None,), "blur length l per image, a fraction of the side"
)
_ANGLE = TensorContract("angle", tf.float32, (None,), "blur angle θ per image, degrees")
_DEFENDED_OUTPUTS = (
    TensorContract(
        "probabilities", tf.float32, (None, NUM_CLASSES), "softmax of C(G(E(x)))"
    ),
    TensorContract("label", tf.int64, (None,), "argmax of C(G(E(x)))"),
    TensorContract(
        "reconstruction", tf.float32, (None, *IMAGE_SHAPE), "G(E(x)), in [0, 1]"
    ),
    TensorContract(
        "undefended_probabilities", tf.float32, (None, NUM_CLASSES), "softmax of C(x)"
    ),
)

SIGNATURES: dict[Signature, SignatureContract] = {
    Signature.SERVING_DEFAULT: SignatureContract(
        (_IMAGES,), _DEFENDED_OUTPUTS, "the paper's defence C(G(E(x)))"
    ),
    Signature.BLUR: SignatureContract(
        (_IMAGES, _LENGTH, _ANGLE),
        (TensorContract("images", tf.float32, (None, *IMAGE_SHAPE), "blurred images"),),
        "the motion blur used in training and evaluation",
    ),
    Signature.BLUR_AND_DEFEND: SignatureContract(
        (_IMAGES, _LENGTH, _ANGLE),
        (
            *_DEFENDED_OUTPUTS,
            TensorContract(
                "blurred", tf.float32, (None, *IMAGE_SHAPE), "the blurred images"
            ),
        ),
        "blur, then the defence, on the blurred images",
    ),
    Signature.DEFEND_ADAPTIVE: SignatureContract(
        (_IMAGES,),
        (
            TensorContract(
                "probabilities",
                tf.float32,
                (None, NUM_CLASSES),
                "softmax of the defence",
            ),
            TensorContract("label", tf.int64, (None,), "argmax of the defence"),
            TensorContract(
                "reconstruction",
                tf.float32,
                (None, *IMAGE_SHAPE),
                "the image the classifier saw (restored, or x itself)",
            ),
            TensorContract(
                "undefended_probabilities",
                tf.float32,
                (None, NUM_CLASSES),
                "softmax of C(x)",
            ),
        ),
        "the best defence measured beyond the paper (see export.json)",
    ),
    Signature.CLASSIFY: SignatureContract(
        (_IMAGES,),
        (
            TensorContract(
                "probabilities", tf.float32, (None, NUM_CLASSES), "softmax of C(x)"
            ),
            TensorContract("label", tf.int64, (None,), "argmax of C(x)"),
        ),
        "the classifier C alone",
    ),
}


class ExportError(ValueError):
    """The export could not be written or failed its own verification."""


def _input_spec(contract: TensorContract) -> tf.TensorSpec:
    return tf.TensorSpec(contract.shape, contract.dtype, name=contract.key)


def input_signature(signature: Signature) -> list[tf.TensorSpec]:
    """The `tf.TensorSpec`s of a signature's inputs, in argument order."""
    return [_input_spec(contract) for contract in SIGNATURES[signature].inputs]


def checked_images(images: tf.Tensor) -> tf.Tensor:
    """Validates request images in the graph and clips them to [0, 1].

    The static shape of a signature input is not enforced by the model server,
    so a request of another shape would otherwise reach the convolutions and
    fail there with a message about some inner layer, or not fail at all.

    Args:
        images: float32 [batch, 28, 28, 1], any values.

    Returns:
        float32 [batch, 28, 28, 1] in [0, 1].

    Raises:
        InvalidArgumentError: At run time, naming `images`, for another shape or
            for NaN or infinite values.
    """
    images = tf.ensure_shape(images, [None, *IMAGE_SHAPE], name="images")
    images = tf.debugging.assert_all_finite(images, "images must be finite")
    return tf.clip_by_value(images, 0.0, 1.0)


def checked_blur_parameters(
    images: tf.Tensor, length: tf.Tensor, angle: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Validates per-image blur parameters in the graph.

    Args:
        images: float32 [batch, 28, 28, 1], already checked.
        length: float32 [batch], l ≥ 0 as a fraction of the image side.
        angle: float32 [batch], θ in degrees.

    Raises:
        InvalidArgumentError: At run time, naming `length` or `angle`, for a
            value count other than the batch size or a bad value.
    """
    batch_size = tf.shape(images)[0]
    checked = []
    for name, values in (("length", length), ("angle", angle)):
        values = tf.ensure_shape(values, [None], name=name)
        tf.debugging.assert_equal(
            tf.shape(values)[0],
            batch_size,
            message=f"{name} must hold one value per image",
        )
        checked.append(tf.debugging.assert_all_finite(values, f"{name} must be finite"))
    tf.debugging.assert_non_negative(checked[0], message="length must be non-negative")
    return checked[0], checked[1]


@dataclasses.dataclass(frozen=True)
class AdaptiveDefense:
    """The defence behind `defend_adaptive`.

    Attributes:
        method: A method of `egan_tf.defenses` that needs no knowledge of the
            true blur (not `wiener-oracle`).
        models: The networks it runs on.
        config: Its settings.
    """

    method: Method
    models: DefenseModels
    config: DefenseConfig

    def __post_init__(self):
        if self.method == Method.WIENER_ORACLE:
            raise ExportError(
                "wiener-oracle needs the true blur, which a request does not carry. "
                f"Received: method={self.method}"
            )


def load_adaptive_defense(models_dir: str) -> AdaptiveDefense | None:
    """The `adaptive_method` named in `defense.json` with its networks and
    settings, or None when the file names none."""
    config, method = load_defense_file(models_dir)
    if method is None:
        return None
    return AdaptiveDefense(method, load_defense_models(models_dir), config)


def load_export_models(
    models_dir: str,
) -> tuple[ShippedModels, AdaptiveDefense | None]:
    """The networks of an export: C, G, E, and the adaptive defence when
    `defense.json` names one, sharing the same C, G and E objects so that the
    SavedModel stores each weight once."""
    adaptive = load_adaptive_defense(models_dir)
    if adaptive is None:
        return load_shipped_models(models_dir, require_egan=True), None
    shared = adaptive.models
    return ShippedModels(shared.classifier, shared.generator, shared.encoder), adaptive


def make_serving_functions(
    models: ShippedModels, adaptive: AdaptiveDefense | None = None
) -> dict[Signature, Callable[..., dict[str, tf.Tensor]]]:
    """The Python functions behind each signature, on in-memory models.

    Exported as they are, and called directly by tests to compare the loaded
    SavedModel with the in-memory pipeline. `defend_adaptive` is there only
    with `adaptive`.

    Returns:
        Signature -> function of the signature's inputs (float32 tensors, see
        `SIGNATURES`) returning a dict of its outputs.
    """
    if not models.has_egan:
        raise ExportError(
            "The export needs the classifier, generator and encoder. "
            "Received: models without an EGAN"
        )
    classifier, generator, encoder = models.classifier, models.generator, models.encoder

    def classify_checked(images):
        probabilities = tf.nn.softmax(classifier(images, training=False), axis=-1)
        return probabilities, tf.argmax(probabilities, axis=-1)

    def defend_checked(images):
        reconstruction = generator(encoder(images, training=False), training=False)
        probabilities, label = classify_checked(reconstruction)
        undefended_probabilities, _ = classify_checked(images)
        return {
            "probabilities": probabilities,
            "label": label,
            "reconstruction": reconstruction,
            "undefended_probabilities": undefended_probabilities,
        }

    def blur_checked(images, length, angle):
        length, angle = checked_blur_parameters(images, length, angle)
        return apply_motion_blur(images, length, angle)

    def serving_default(images):
        return defend_checked(checked_images(images))

    def blur(images, length, angle):
        return {"images": blur_checked(checked_images(images), length, angle)}

    def blur_and_defend(images, length, angle):
        blurred = blur_checked(checked_images(images), length, angle)
        return {**defend_checked(blurred), "blurred": blurred}

    def classify(images):
        probabilities, label = classify_checked(checked_images(images))
        return {"probabilities": probabilities, "label": label}

    functions = {
        Signature.SERVING_DEFAULT: serving_default,
        Signature.BLUR: blur,
        Signature.BLUR_AND_DEFEND: blur_and_defend,
        Signature.CLASSIFY: classify,
    }
    if adaptive is not None:
        defend = make_method_functions(
            adaptive.models, adaptive.config, [adaptive.method]
        )[adaptive.method]

        def defend_adaptive(images):
            images = checked_images(images)
            # The true blur is unknown to a request; no exported method reads it.
            unknown = tf.zeros(tf.shape(images)[:1])
            output = defend(images, unknown, unknown)
            probabilities = tf.nn.softmax(output.logits, axis=-1)
            undefended_probabilities, _ = classify_checked(images)
            return {
                "probabilities": probabilities,
                "label": tf.argmax(probabilities, axis=-1),
                "reconstruction": output.classified,
                "undefended_probabilities": undefended_probabilities,
            }

        functions[Signature.DEFEND_ADAPTIVE] = defend_adaptive
    return functions


def build_export_archive(
    functions: dict[Signature, Callable[..., dict[str, tf.Tensor]]],
) -> keras.export.ExportArchive:
    """An `ExportArchive` with one endpoint per signature.

    Args:
        functions: From `make_serving_functions`, whose first entry is
            `serving_default`: registered first and by name, it is the
            default signature of the model server.
    """
    # No `track()` call: the archive tracks every variable the endpoints use,
    # and tracking the models as well would save each weight twice.
    archive = keras.export.ExportArchive()
    for signature, function in functions.items():
        archive.add_endpoint(
            name=str(signature), fn=function, input_signature=input_signature(signature)
        )
    return archive


def existing_versions(root: str) -> list[int]:
    """The integer version directories under `root`, ascending."""
    if not os.path.isdir(root):
        return []
    return sorted(
        int(name)
        for name in os.listdir(root)
        if name.isdigit() and os.path.isdir(os.path.join(root, name))
    )


def next_version(root: str) -> int:
    """The next free version number: one more than the largest, or 1."""
    versions = existing_versions(root)
    return versions[-1] + 1 if versions else 1


def _read_saved_model(saved_model_dir: str) -> saved_model_pb2.SavedModel:
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, SAVED_MODEL_FILE), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    return saved_model


def graph_op_types(saved_model_dir: str) -> set[str]:
    """Every op type in the SavedModel's graphs and their function libraries.

    A node that calls a library function has the function's name as its op;
    those names are left out, since the functions' own nodes are walked.
    """
    op_types, function_names = set(), set()
    for meta_graph in _read_saved_model(saved_model_dir).meta_graphs:
        graph = meta_graph.graph_def
        op_types.update(node.op for node in graph.node)
        for function in graph.library.function:
            function_names.add(function.signature.name)
            op_types.update(node.op for node in function.node_def)
    return op_types - function_names


def unservable_op_types(op_types: Iterable[str]) -> set[str]:
    """The op types a stock model server cannot run.

    These are the Python function ops and any op not registered in this
    process's TensorFlow; this package registers no ops of its own, so a
    registered op is a core op.
    """
    return {
        op_type
        for op_type in op_types
        if op_type in PYTHON_FUNCTION_OPS or op_def_registry.get(op_type) is None
    }


def check_servable(saved_model_dir: str) -> set[str]:
    """Walks every op of a SavedModel and returns the op types it uses.

    Raises:
        ExportError: One line naming the ops a stock model server cannot run.
    """
    op_types = graph_op_types(saved_model_dir)
    unservable = unservable_op_types(op_types)
    if unservable:
        raise ExportError(
            f"{saved_model_dir} uses ops a stock model server cannot run. "
            f"Received: ops={sorted(unservable)}"
        )
    return op_types


def models_config_text(base_path: str, model_name: str = SERVING_MODEL_NAME) -> str:
    """The model server's text-proto `--model_config_file` for one model.

    Args:
        base_path: Absolute path of the folder of version directories as the
            server sees it (inside the container for docker).
        model_name: The name under which requests address the model.
    """
    if not os.path.isabs(base_path):
        raise ExportError(
            f"The model server needs an absolute base path. Received: base_path={base_path}"
        )
    return (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{model_name}"\n'
        f'    base_path: "{base_path}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )


def _write_text_atomically(path: str, text: str) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went.

    Attributes:
        root: The folder of version directories.
        version: The integer version written.
        path: `root/version`, the SavedModel directory.
        op_types: Every op type in the graph, as walked by `check_servable`.
        signatures: The names of the exported signatures.
    """

    root: str
    version: int
    path: str
    op_types: frozenset[str]
    signatures: tuple[str, ...] = ()


def export_defense(
    models: ShippedModels,
    root: str,
    serving_base_path: str = DOCKER_BASE_PATH,
    adaptive: AdaptiveDefense | None = None,
) -> ExportResult:
    """Exports C, G, E and the blur as the next version under `root`.

    The SavedModel is written into a hidden temporary folder beside the
    versions (the model server ignores names that are not integers), checked
    for unservable ops, and only then renamed to its version number, so that a
    server watching `root` never sees a half-written version.

    Args:
        models: The shipped networks; the EGAN is required.
        root: Folder of version directories, created when missing.
        serving_base_path: `base_path` written into `models.config`: where
            the model server sees `root` (default: the official docker
            image's /models/egan_defense).
        adaptive: The defence of the extra `defend_adaptive` signature, or
            None for the paper's signatures only.

    Returns:
        Where the export went.
    """
    # Everything that can be refused is checked before anything is written.
    config_text = models_config_text(serving_base_path)
    functions = make_serving_functions(models, adaptive)
    archive = build_export_archive(functions)
    os.makedirs(root, exist_ok=True)
    version = next_version(root)
    staging = tempfile.mkdtemp(prefix=f".staging-{version}-", dir=root)
    try:
        archive.write_out(staging, verbose=False)
        # mkdtemp makes the folder private; a model server under another user
        # must be able to read it.
        os.chmod(staging, 0o755)
        op_types = check_servable(staging)
        final_path = os.path.join(root, str(version))
        os.rename(staging, final_path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _write_text_atomically(os.path.join(root, MODELS_CONFIG_FILE), config_text)
    signatures = tuple(str(name) for name in functions)
    return ExportResult(root, version, final_path, frozenset(op_types), signatures)


def measure_saved_model(
    saved_model_dir: str, arrays: MnistArrays, batch_size: int = 500
) -> dict[str, float | int]:
    """Accuracy of the exported `serving_default` on labelled images.

    Runs the SavedModel as loaded from disk, not the in-memory networks, so the
    numbers describe the artifact that is shipped.

    Returns:
        {"examples", "defended_accuracy", "undefended_accuracy"}, and
        "adaptive_accuracy" when the export has `defend_adaptive`; accuracies
        as fractions in [0, 1].
    """
    signatures = tf.saved_model.load(saved_model_dir).signatures
    serving = signatures[str(Signature.SERVING_DEFAULT)]
    adaptive = signatures.get(str(Signature.DEFEND_ADAPTIVE))
    defended, undefended, adaptive_labels = [], [], []
    for start in range(0, len(arrays), batch_size):
        images = tf.constant(
            arrays.images[start : start + batch_size].astype(np.float32) / 255.0
        )
        outputs = serving(images=images)
        defended.append(outputs["label"].numpy())
        undefended.append(np.argmax(outputs["undefended_probabilities"].numpy(), -1))
        if adaptive is not None:
            adaptive_labels.append(adaptive(images=images)["label"].numpy())
    labels = arrays.labels
    measured = {
        "examples": len(arrays),
        "defended_accuracy": float(np.mean(np.concatenate(defended) == labels)),
        "undefended_accuracy": float(np.mean(np.concatenate(undefended) == labels)),
    }
    if adaptive_labels:
        measured["adaptive_accuracy"] = float(
            np.mean(np.concatenate(adaptive_labels) == labels)
        )
    return measured


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _signature_card(names) -> dict[str, dict]:
    def tensors(contracts):
        return {
            contract.key: {
                "dtype": contract.dtype.name,
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


def _source_files(models_dir: str, adaptive: AdaptiveDefense | None) -> list[str]:
    names = [CLASSIFIER_FILE, GENERATOR_FILE, ENCODER_FILE]
    if adaptive is not None:
        names += [*needed_files(adaptive.method), DEFENSE_CONFIG_FILE]
    return names


def record_export(
    result: ExportResult,
    models_dir: str,
    measured: dict | None,
    adaptive: AdaptiveDefense | None = None,
) -> dict:
    """Adds this version to `<root>/export.json` and returns its entry.

    The entry names the source networks by file and SHA-256, the signatures,
    the TensorFlow and Keras versions and what the export measured.
    """
    entry = {
        "version": result.version,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "sources": {
            name: {"file": name, "sha256": file_sha256(os.path.join(models_dir, name))}
            for name in _source_files(models_dir, adaptive)
        },
        "signatures": list(result.signatures),
        "defend_adaptive": None
        if adaptive is None
        else {
            "method": str(adaptive.method),
            "config": config_to_dict(adaptive.config),
        },
        "op_types": sorted(result.op_types),
        "measured_on_mnist_test": measured,
    }
    path = os.path.join(result.root, EXPORT_CARD_FILE)
    card = {"model_name": SERVING_MODEL_NAME, "versions": []}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            card = json.load(handle)
    card["signatures"] = _signature_card(result.signatures)
    card["versions"] = [
        version for version in card["versions"] if version["version"] != result.version
    ] + [entry]
    write_json_atomically(path, card)
    return entry


def export_shipped_models(
    models_dir: str,
    root: str,
    serving_base_path: str = DOCKER_BASE_PATH,
    test_arrays: MnistArrays | None = None,
) -> tuple[ExportResult, dict]:
    """Exports the shipped networks of `models_dir` and records the export.

    Args:
        models_dir: Folder with classifier.keras, generator.keras, encoder.keras,
            and, when its defense.json names an `adaptive_method`, the
            networks that method needs.
        root: Folder of version directories.
        serving_base_path: `base_path` of `models.config`.
        test_arrays: Labelled images to measure the exported model on, or None.

    Returns:
        Where the export went, and its entry in `export.json`.
    """
    models, adaptive = load_export_models(models_dir)
    result = export_defense(models, root, serving_base_path, adaptive)
    measured = (
        None if test_arrays is None else measure_saved_model(result.path, test_arrays)
    )
    return result, record_export(result, models_dir, measured, adaptive)
