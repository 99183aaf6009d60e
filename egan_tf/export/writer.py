"""Writing a version: the generic export function and the TF Serving layout.

A version is written into a hidden staging folder beside the versions (the
model server ignores names that are not integers), checked for unservable
ops, measured from disk, recorded in `export.json`, and only then renamed to
its number. So a server watching the folder never sees a half-written
version, and every version it sees is in the card. An export killed at any
moment leaves at most a staging folder, which the next export removes, and
perhaps a card entry for a number with no folder, which the next export
reuses and overwrites.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable

import keras
import tensorflow as tf

from egan_tf.atomic_files import write_text_atomically
from egan_tf.data import ImageArrays, dataset_of, to_unit_interval
from egan_tf.datasets import dataset_spec
from egan_tf.export.checks import check_servable, measure_saved_model, record_export
from egan_tf.export.contract import (
    DOCKER_BASE_PATH,
    MODELS_CONFIG_FILE,
    SERVING_MODEL_NAME,
    STAGING_PREFIX,
    ExportResult,
    Signature,
    next_version,
)
from egan_tf.export.equivalence import measure_equivalence
from egan_tf.export.serving_module import (
    AdaptiveDefense,
    ExportError,
    input_signature,
    load_export_models,
    make_serving_functions,
)
from egan_tf.model_io import ShippedModels
from egan_tf.user_classifier import UserClassifier

# Blurred test images per family on which `defend_gated` from disk is
# compared with the in-memory method when an export is measured.
EQUIVALENCE_EXAMPLES = 2000


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


def remove_stale_staging(root: str) -> list[str]:
    """Removes the staging folders an interrupted export left in `root`.

    Exports to one folder are not meant to run concurrently; a staging folder
    found when an export starts is one whose process died.

    Returns:
        The folders removed.
    """
    stale = [
        os.path.join(root, name)
        for name in sorted(os.listdir(root))
        if name.startswith(STAGING_PREFIX) and os.path.isdir(os.path.join(root, name))
    ]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def export_defense(
    models: ShippedModels,
    root: str,
    serving_base_path: str = DOCKER_BASE_PATH,
    adaptive: AdaptiveDefense | None = None,
    models_dir: str | None = None,
    test_arrays: ImageArrays | None = None,
    classifier: UserClassifier | None = None,
) -> tuple[ExportResult, dict]:
    """Exports C, G, E and the blur as the next version under `root`.

    Args:
        models: The shipped networks; the EGAN is required.
        root: Folder of version directories, created when missing.
        serving_base_path: `base_path` written into `models.config`: where
            the model server sees `root` (default: the official docker
            image's /models/egan_defense).
        adaptive: The defence of the extra `defend_adaptive` signature, or
            None for the paper's signatures only.
        models_dir: The folder the networks were loaded from, whose files
            the card names by SHA-256; None for networks built in memory.
        test_arrays: Labelled images to measure the written model on, or None.
        classifier: The user's classifier when it is C in `models`, recorded
            in the card in place of the shipped classifier.keras.

    Returns:
        Where the export went, and its entry in `export.json`.
    """
    # Everything that can be refused is checked before anything is written.
    config_text = models_config_text(serving_base_path)
    functions = make_serving_functions(models, adaptive)
    archive = build_export_archive(functions)
    os.makedirs(root, exist_ok=True)
    remove_stale_staging(root)
    version = next_version(root)
    final_path = os.path.join(root, str(version))
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version}-", dir=root)
    try:
        archive.write_out(staging, verbose=False)
        # mkdtemp makes the folder private; a model server under another user
        # must be able to read it.
        os.chmod(staging, 0o755)
        result = ExportResult(
            root,
            version,
            final_path,
            frozenset(check_servable(staging)),
            tuple(str(name) for name in functions),
        )
        measured = None
        if test_arrays is not None:
            measured = measure_saved_model(staging, test_arrays)
            if Signature.DEFEND_GATED in functions:
                measured["defend_gated_vs_in_memory"] = measure_equivalence(
                    tf.saved_model.load(staging).signatures[
                        str(Signature.DEFEND_GATED)
                    ],
                    functions[Signature.DEFEND_GATED],
                    to_unit_interval(test_arrays.images[:EQUIVALENCE_EXAMPLES]).numpy(),
                    dataset_spec(dataset_of(test_arrays)).length_scale,
                )
        entry = record_export(result, models_dir, measured, adaptive, classifier)
        write_text_atomically(os.path.join(root, MODELS_CONFIG_FILE), config_text)
        os.rename(staging, final_path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result, entry


def export_shipped_models(
    models_dir: str,
    root: str,
    serving_base_path: str = DOCKER_BASE_PATH,
    test_arrays: ImageArrays | None = None,
    classifier: UserClassifier | None = None,
) -> tuple[ExportResult, dict]:
    """Exports the shipped networks of `models_dir` and records the export.

    Args:
        models_dir: Folder with classifier.keras, generator.keras, encoder.keras,
            and, when its defense.json names an `adaptive_method`, the
            networks that method needs.
        root: Folder of version directories.
        serving_base_path: `base_path` of `models.config`.
        test_arrays: Labelled images to measure the exported model on, or None.
        classifier: A user's classifier to export in C's place, or None.

    Returns:
        Where the export went, and its entry in `export.json`.
    """
    models, adaptive = load_export_models(models_dir, classifier)
    return export_defense(
        models, root, serving_base_path, adaptive, models_dir, test_arrays, classifier
    )
