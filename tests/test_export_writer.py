"""Tests of writing an export: integer versions, the card, what is left out
and what is refused, and that a killed export publishes nothing. They run on
tiny networks; `test_export.py` checks the shipped export itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_outputs_match

from egan_tf import export
from egan_tf.export import Signature


@pytest.fixture(scope="module")
def tiny_models():
    from helpers import TINY_EGAN

    from egan_tf.config import ClassifierConfig
    from egan_tf.model_io import ShippedModels
    from egan_tf.networks import build_classifier, build_encoder, build_generator

    return ShippedModels(
        build_classifier(ClassifierConfig(filters=(4, 8), dense_units=8)),
        build_generator(TINY_EGAN),
        build_encoder(TINY_EGAN),
    )


def test_each_export_takes_the_next_integer_version(tiny_models, tmp_path):
    root = tmp_path / "egan_defense"
    (root / "notes").mkdir(parents=True)  # not a version: ignored
    first, _ = export.export_defense(tiny_models, str(root))
    second, _ = export.export_defense(tiny_models, str(root), "/serving/egan_defense")
    assert (first.version, second.version) == (1, 2)
    # Without defense.json's adaptive defence, neither defence beyond the
    # paper is exported.
    assert not {"defend_adaptive", "defend_gated"} & set(first.signatures)
    assert export.existing_versions(str(root)) == [1, 2]
    assert sorted(os.listdir(root)) == [
        "1", "2", "export.json", "models.config", "notes",
    ]  # fmt: skip
    assert oct(os.stat(second.path).st_mode & 0o777) == oct(0o755)
    assert 'base_path: "/serving/egan_defense"' in (root / "models.config").read_text()


def test_a_failed_export_leaves_no_version_and_no_staging_folder(
    tiny_models, tmp_path, monkeypatch
):
    from egan_tf.export import checks

    monkeypatch.setattr(checks, "unservable_op_types", lambda op_types: {"FakeOp"})
    with pytest.raises(export.ExportError, match="FakeOp"):
        export.export_defense(tiny_models, str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_export_needs_the_whole_egan(tiny_models, tmp_path):
    from egan_tf.model_io import ShippedModels

    with pytest.raises(export.ExportError, match="EGAN"):
        export.export_defense(ShippedModels(tiny_models.classifier), str(tmp_path))
    with pytest.raises(export.ExportError, match="absolute"):
        export.models_config_text("models/egan_defense")


ADAPTIVE_DEFENCES = {
    "gated": ("gated", {}),
    # The hybrid reads C_mix too; gated here restores every image by the
    # refinement that refines a blur kernel with the latent.
    "hybrid": ("hybrid", {}),
    "gated-kernel-refine": (
        "gated",
        {
            "gate_length": -1.0,
            "gated_restorer": "egan-refine",
            "refine_steps": 2,
            "refine_kernel_size": 15,
            "refine_kernel_learning_rate": 0.2,
        },
    ),
}


@pytest.mark.parametrize("defence", list(ADAPTIVE_DEFENCES))
def test_the_defences_beyond_the_paper_are_exported_only_with_defense_json(
    tmp_path, defence
):
    from helpers import tiny_defense_models

    from egan_tf.defenses import DefenseConfig, Method
    from egan_tf.model_io import ShippedModels

    defense_models = tiny_defense_models()
    shipped = ShippedModels(
        defense_models.classifier, defense_models.generator, defense_models.encoder
    )
    method, settings = ADAPTIVE_DEFENCES[defence]
    adaptive = export.AdaptiveDefense(
        Method(method), defense_models, DefenseConfig(**settings)
    )
    result, _ = export.export_defense(shipped, str(tmp_path), adaptive=adaptive)
    assert result.signatures[-2:] == ("defend_adaptive", "defend_gated")
    assert export.unservable_op_types(result.op_types) == set()
    loaded = tf.saved_model.load(result.path)
    functions = export.make_serving_functions(shipped, adaptive)
    images = np.random.default_rng(0).random([3, 28, 28, 1]).astype(np.float32)
    for signature in (Signature.DEFEND_ADAPTIVE, Signature.DEFEND_GATED):
        outputs = loaded.signatures[str(signature)](images=tf.constant(images))
        expected = functions[signature](tf.constant(images))
        assert_outputs_match(
            {key: value.numpy() for key, value in outputs.items()},
            {key: value.numpy() for key, value in expected.items()},
        )


def test_a_defence_that_needs_the_true_blur_cannot_be_exported():
    from helpers import tiny_defense_models

    from egan_tf.defenses import DefenseConfig, Method

    with pytest.raises(export.ExportError, match="true blur"):
        export.AdaptiveDefense(
            Method.WIENER_ORACLE, tiny_defense_models(), DefenseConfig()
        )


def test_defend_gated_is_left_out_when_the_gate_lacks_its_networks(tmp_path):
    from helpers import tiny_defense_models

    from egan_tf.defenses import DefenseConfig, Method
    from egan_tf.model_io import ShippedModels

    without_estimator = dataclasses.replace(tiny_defense_models(), blur_estimator=None)
    shipped = ShippedModels(
        without_estimator.classifier,
        without_estimator.generator,
        without_estimator.encoder,
    )
    adaptive = export.AdaptiveDefense(
        Method.EGAN_BLUR, without_estimator, DefenseConfig()
    )
    assert adaptive.gated() is None
    functions = export.make_serving_functions(shipped, adaptive)
    assert Signature.DEFEND_ADAPTIVE in functions
    assert Signature.DEFEND_GATED not in functions


# An export killed at each of these moments; the child process dies by
# SIGKILL, as on a power cut or an out-of-memory kill.
KILL_POINTS = {
    # The SavedModel is written, not yet checked.
    "after writing": "egan_tf.export.writer.check_servable",
    # Checked and measured, the card not yet written.
    "before the card": "egan_tf.export.checks.write_json_atomically",
    # The card is written, the version not yet renamed into place.
    "before the rename": "os.rename",
}
KILLED_EXPORT_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import importlib

    models_dir, root, target = sys.argv[1:]
    module_name, _, attribute = target.rpartition(".")
    module = importlib.import_module(module_name)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(module, attribute, die)
    from egan_tf.export import export_shipped_models

    export_shipped_models(models_dir, root)
    """
)


@pytest.fixture(scope="module")
def tiny_models_dir(tmp_path_factory, tiny_models):
    folder = tmp_path_factory.mktemp("tiny_models")
    tiny_models.classifier.save(str(folder / "classifier.keras"))
    tiny_models.generator.save(str(folder / "generator.keras"))
    tiny_models.encoder.save(str(folder / "encoder.keras"))
    return str(folder)


def _listed_versions(root) -> list[int]:
    card = root / export.EXPORT_CARD_FILE
    if not card.is_file():
        return []
    return [entry["version"] for entry in json.loads(card.read_text())["versions"]]


def test_an_export_killed_at_any_moment_publishes_nothing_unlisted(
    tmp_path, tiny_models_dir
):
    from egan_tf.export import export_shipped_models

    root = tmp_path / "egan_defense"
    export_shipped_models(tiny_models_dir, str(root))
    script = tmp_path / "killed_export.py"
    script.write_text(KILLED_EXPORT_SCRIPT)
    for moment, target in KILL_POINTS.items():
        completed = subprocess.run(
            [sys.executable, str(script), tiny_models_dir, str(root), target],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == -signal.SIGKILL, (moment, completed.stderr)
        # Every version the model server can see is in the card.
        visible = export.existing_versions(str(root))
        assert set(visible) <= set(_listed_versions(root)), moment
        assert visible == [1], moment
    # The next export cleans up after the killed ones and takes version 2.
    result, _ = export_shipped_models(tiny_models_dir, str(root))
    assert result.version == 2
    assert sorted(os.listdir(root)) == ["1", "2", "export.json", "models.config"]
    assert _listed_versions(root) == [1, 2]


def test_the_card_names_each_versions_data_set(tiny_models, tmp_path):
    from egan_tf.export.contract import exported_dataset

    root = tmp_path / "egan_defense"
    result, _ = export.export_defense(tiny_models, str(root))
    card = json.loads((root / export.EXPORT_CARD_FILE).read_text())
    card["versions"][0]["dataset"] = "fashion_mnist"
    (root / export.EXPORT_CARD_FILE).write_text(json.dumps(card))
    assert exported_dataset(result.path) == "fashion_mnist"
    # Versions the card does not describe, and unreadable cards, say nothing.
    assert exported_dataset(str(root / "7")) is None
    (root / export.EXPORT_CARD_FILE).write_text("{not json")
    assert exported_dataset(result.path) is None
