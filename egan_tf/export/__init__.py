"""One SavedModel with the blur, the EGAN and the classifier, for TF Serving.

Files, by role (after the TF Model Garden's export modules):
    contract.py        the signatures and the on-disk layout (no TensorFlow)
    serving_module.py  the functions behind each signature, with in-graph
                       input checks
    writer.py          writing a version: staging, card, then rename
    checks.py          the op walk, the measurement from disk, the card

The export is written with Keras 3's `keras.export.ExportArchive`, which
tracks the variables of every network so that the session-based loader of
`tensorflow_model_server` finds them. Every graph op is a core TensorFlow op
(the blur is `tf.signal`), so the stock model server loads it with no Python.

The contract's names import at once; the rest loads on first use, so that a
client can read the contract without TensorFlow or Keras.
"""

from __future__ import annotations

from egan_tf.export.contract import (
    DOCKER_BASE_PATH,
    EXPORT_CARD_FILE,
    MODELS_CONFIG_FILE,
    SAVED_MODEL_FILE,
    SERVING_MODEL_NAME,
    SIGNATURES,
    STAGING_PREFIX,
    ExportResult,
    Signature,
    SignatureContract,
    TensorContract,
    existing_versions,
    next_version,
    signature_card,
)
from egan_tf.lazy import lazy_attributes

_LAZY = {
    "AdaptiveDefense": "serving_module",
    "ExportError": "serving_module",
    "checked_blur_parameters": "serving_module",
    "checked_images": "serving_module",
    "input_signature": "serving_module",
    "load_adaptive_defense": "serving_module",
    "load_export_models": "serving_module",
    "make_serving_functions": "serving_module",
    "build_export_archive": "writer",
    "export_defense": "writer",
    "export_shipped_models": "writer",
    "models_config_text": "writer",
    "remove_stale_staging": "writer",
    "PYTHON_FUNCTION_OPS": "checks",
    "check_servable": "checks",
    "file_sha256": "checks",
    "graph_op_types": "checks",
    "measure_saved_model": "checks",
    "record_export": "checks",
    "unservable_op_types": "checks",
}

__all__ = [
    "DOCKER_BASE_PATH",
    "EXPORT_CARD_FILE",
    "MODELS_CONFIG_FILE",
    "SAVED_MODEL_FILE",
    "SERVING_MODEL_NAME",
    "SIGNATURES",
    "STAGING_PREFIX",
    "ExportResult",
    "Signature",
    "SignatureContract",
    "TensorContract",
    "existing_versions",
    "next_version",
    "signature_card",
    *_LAZY,
]


__getattr__ = lazy_attributes("egan_tf.export", _LAZY)
