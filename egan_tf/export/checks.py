"""Checks of a written export: the op walk, the measurement from disk, and
the card (`export.json`) that records both."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from egan_tf.atomic_files import write_json_atomically
from egan_tf.batching import run_batched
from egan_tf.config import config_to_dict
from egan_tf.data import ImageArrays, to_unit_interval
from egan_tf.defenses import DEFENSE_CONFIG_FILE, Method, needed_files
from egan_tf.export.contract import (
    EXPORT_CARD_FILE,
    MEASURED_KEY,
    SAVED_MODEL_FILE,
    SERVING_MODEL_NAME,
    ExportResult,
    Signature,
    signature_card,
)
from egan_tf.export.serving_module import AdaptiveDefense, ExportError
from egan_tf.model_files import (
    CLASSIFIER_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    trained_data_set,
)
from egan_tf.user_classifier import UserClassifier

# The op types that call back into a Python interpreter; the model server has none.
PYTHON_FUNCTION_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


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


def measure_saved_model(
    saved_model_dir: str, arrays: ImageArrays, batch_size: int = 500
) -> dict[str, float | int]:
    """Accuracy of the exported `serving_default` on labelled images.

    Runs the SavedModel as loaded from disk, not the in-memory networks, so the
    numbers describe the artifact that is shipped.

    Returns:
        {"examples", "defended_accuracy", "undefended_accuracy"}, and
        "adaptive_accuracy" and "gated_accuracy" when the export has
        `defend_adaptive` and `defend_gated`; accuracies as fractions in
        [0, 1].
    """
    signatures = tf.saved_model.load(saved_model_dir).signatures
    serving = signatures[str(Signature.SERVING_DEFAULT)]
    extra = {
        name: signatures[str(signature)]
        for name, signature in (
            ("adaptive", Signature.DEFEND_ADAPTIVE),
            ("gated", Signature.DEFEND_GATED),
        )
        if str(signature) in signatures
    }

    def labels_of(images):
        images = to_unit_interval(images)
        outputs = serving(images=images)
        labels = {
            "defended": outputs["label"],
            "undefended": tf.argmax(outputs["undefended_probabilities"], -1),
        }
        for name, signature in extra.items():
            labels[name] = signature(images=images)["label"]
        return labels

    predicted = run_batched(labels_of, arrays.images, batch_size)
    measured = {"examples": len(arrays)}
    for name in ("defended", "undefended", *extra):
        if name in predicted:
            measured[f"{name}_accuracy"] = float(
                np.mean(predicted[name] == arrays.labels)
            )
    return measured


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_files(adaptive: AdaptiveDefense | None) -> list[str]:
    names = [CLASSIFIER_FILE, GENERATOR_FILE, ENCODER_FILE]
    if adaptive is not None:
        restorer = adaptive.config.gated_restorer
        if adaptive.method is not None:
            names += needed_files(adaptive.method, restorer)
        names.append(DEFENSE_CONFIG_FILE)
        if adaptive.gated() is not None:
            names += needed_files(Method.GATED, restorer)
    return list(dict.fromkeys(names))


def _data_set_of(models_dir: str) -> str | None:
    trained = trained_data_set(models_dir)
    return None if trained is None else trained[0]


def record_export(
    result: ExportResult,
    models_dir: str | None,
    measured: dict | None,
    adaptive: AdaptiveDefense | None = None,
    classifier: UserClassifier | None = None,
) -> dict:
    """Adds this version to `<root>/export.json` and returns its entry.

    The entry names the source networks by file and SHA-256 (none when
    `models_dir` is None: networks built in memory), the signatures, the
    TensorFlow and Keras versions and what the export measured.
    """
    entry = {
        "version": result.version,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "sources": {}
        if models_dir is None
        else {
            name: {"file": name, "sha256": file_sha256(os.path.join(models_dir, name))}
            for name in _source_files(adaptive)
        },
        "signatures": list(result.signatures),
        "defend_adaptive": None
        if adaptive is None or adaptive.method is None
        else {
            "method": str(adaptive.method),
            "config": config_to_dict(adaptive.config),
        },
        # defend_gated runs on defend_adaptive's networks and settings.
        "defend_gated": None
        if str(Signature.DEFEND_GATED) not in result.signatures
        else {"method": "gated", "config": config_to_dict(adaptive.config)},
        "op_types": sorted(result.op_types),
        "dataset": None if models_dir is None else _data_set_of(models_dir),
        MEASURED_KEY: measured,
    }
    if classifier is not None:
        # The user's classifier stands in for the shipped C.
        entry["sources"][CLASSIFIER_FILE] = {
            "file": os.path.abspath(classifier.path),
            "sha256": file_sha256(classifier.path),
        }
        entry["classifier"] = classifier.to_dict()
    path = os.path.join(result.root, EXPORT_CARD_FILE)
    card = {"model_name": SERVING_MODEL_NAME, "versions": []}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            card = json.load(handle)
    card["signatures"] = signature_card(result.signatures)
    # The card is written before its version becomes visible, so an entry
    # whose folder is missing is one whose export was killed before its
    # rename: it is dropped, and its number is reused.
    card["versions"] = [
        version
        for version in card["versions"]
        if version["version"] != result.version
        and os.path.isdir(os.path.join(result.root, str(version["version"])))
    ] + [entry]
    write_json_atomically(path, card)
    return entry
