"""The defences compared in `evaluate --grid --methods`: the paper's EGAN and
what goes beyond it.

Every method is a module-level function of the networks, the settings and
one `Observation` (a batch, the true blur, and the pieces several methods
share); `registry.METHODS` names them and `run_methods` applies them.

Files, by role:
    names.py        the `Method` names and the networks each needs
    config.py       `DefenseConfig` and `defense.json`
    models.py       loading the networks
    observation.py  what every method receives and returns; C and B
    refinement.py   the latent search through G and the blur
    classifiers.py, restoration.py, gated.py, wiener.py   the methods
    registry.py     the table of methods and the runner

The names that need no TensorFlow import at once; the rest load on first use,
so that the command line can check a `--methods` list before TensorFlow's
import.
"""

from __future__ import annotations

from egan_tf.defenses.config import (
    DEFENSE_CONFIG_FILE,
    DefenseConfig,
    load_defense_config,
    load_defense_file,
)
from egan_tf.defenses.names import (
    EGAN_BASED_METHODS,
    GATED_RESTORERS,
    NETWORK_FILES,
    Method,
    needed_files,
    parse_methods,
)
from egan_tf.lazy import lazy_attributes

_LAZY = {
    "DefenseModels": "models",
    "check_methods_available": "models",
    "load_defense_models": "models",
    "not_loaded_reason": "models",
    "BlurEstimate": "observation",
    "MethodOutput": "observation",
    "Observation": "observation",
    "estimate_blur": "observation",
    "refine_latent": "refinement",
    "refine_latent_path": "refinement",
    "refine_latent_and_kernel_path": "refinement",
    "METHODS": "registry",
    "apply_methods": "registry",
    "method_views": "registry",
    "observe": "registry",
    "run_methods": "registry",
    "uses_generator": "registry",
}

__all__ = [
    "DEFENSE_CONFIG_FILE",
    "EGAN_BASED_METHODS",
    "GATED_RESTORERS",
    "NETWORK_FILES",
    "DefenseConfig",
    "Method",
    "load_defense_config",
    "load_defense_file",
    "needed_files",
    "parse_methods",
    *_LAZY,
]


__getattr__ = lazy_attributes("egan_tf.defenses", _LAZY)
