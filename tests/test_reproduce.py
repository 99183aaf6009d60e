"""`reproduce` trains every shipped network of a data set, in order, each in
its own checkpoint folder. The stages themselves are tested in their own
files; here each is replaced by a recorder, so that the plan is checked
without hours of training."""

import os

import pytest
from click.testing import CliRunner

import cli
from egan_tf.config import CrossValidationConfig, EncoderLossConfig, TrainingConfig
from egan_tf.data_paths import DataSource
from egan_tf.defaults import encoder_loss, encoder_settling
from egan_tf.training import reproduce
from egan_tf.training.encoder_stage import EncoderStageRequest
from egan_tf.training.stages import (
    ReproduceStage,
    check_stage_inputs,
    parse_stages,
)


@pytest.fixture
def work_dir(tmp_path):
    return str(tmp_path / "work")


@pytest.fixture
def recorded_stages(monkeypatch, work_dir):
    """Each stage's call: its checkpoint folder's name, the data sets and
    splits of the arrays it was given, and the kind of blur it trains on."""
    calls = []

    def recorder(*args, **kwargs):
        request = next(
            (value for value in args if isinstance(value, EncoderStageRequest)), None
        )
        if request is not None:
            # An encoder stage's settings come in one request object.
            args = (*args, request.training, request.loss, request.cross_validation)
            kwargs = {
                **kwargs,
                "input_blur": request.input_blur,
                "note": request.note,
                "settling": request.settling,
            }
        arrays = [value for value in args if hasattr(value, "provenance")]
        checkpoint = next(
            value
            for value in args
            if isinstance(value, str) and value.startswith(work_dir)
        )
        blur = kwargs.get("augmentation") or kwargs.get("input_blur")
        schedule = next(value for value in args if isinstance(value, TrainingConfig))
        loss = next(
            (value for value in args if isinstance(value, EncoderLossConfig)), None
        )
        folds = next(
            (value for value in args if isinstance(value, CrossValidationConfig)),
            None,
        )
        calls.append(
            {
                "stage": os.path.basename(checkpoint),
                "epochs": schedule.epochs,
                "loss": loss,
                "folds": folds,
                "note": kwargs.get("note"),
                "settling": kwargs.get("settling"),
                "datasets": {value.provenance.dataset for value in arrays},
                "first_split": arrays[0].provenance.split,
                "blur": type(blur).__name__ if blur else None,
            }
        )
        return {"test_accuracy": 0.5, "test": {"egan_accuracy": 0.5}}

    for stage in ("classifier", "gan", "encoder", "blur_estimator"):
        monkeypatch.setattr(reproduce, f"train_and_save_{stage}", recorder)

    def settings_recorder(stage, record):
        def record_call(models_dir, train_arrays, *args, **kwargs):
            calls.append(
                {
                    "stage": stage,
                    "datasets": {train_arrays.provenance.dataset},
                    "first_split": train_arrays.provenance.split,
                }
            )
            return record

        return record_call

    monkeypatch.setattr(
        reproduce.settings_stages,
        "choose_and_write_defense",
        settings_recorder("defense", {"adaptive_method": "hybrid"}),
    )
    monkeypatch.setattr(
        reproduce.settings_stages,
        "choose_and_write_bfloat16_margin",
        settings_recorder("bf16_margin", {"margin": 0.15}),
    )
    return calls


def test_reproduce_trains_every_network_of_the_data_set(
    tmp_path, work_dir, recorded_stages
):
    cards = reproduce.reproduce_all(
        str(tmp_path / "models"),
        work_dir,
        DataSource(limit=20, dataset="fashion_mnist"),
        show_progress=False,
    )
    stages = [call["stage"] for call in recorded_stages]
    assert stages == [
        "classifier", "gan", "encoder", "encoder_blur", "classifier_augment",
        "classifier_mixture", "blur_estimator", "defense", "bf16_margin",
    ]  # fmt: skip
    assert list(cards) == stages
    for call in recorded_stages:
        assert call["datasets"] == {"fashion_mnist"}
        assert call["first_split"] == "train"
    networks = recorded_stages[:-2]
    blurs = {call["stage"]: call["blur"] for call in networks}
    assert blurs["classifier"] is None
    assert blurs["classifier_augment"] == "BlurSamplingConfig"
    assert blurs["classifier_mixture"] == "BlurMixtureConfig"
    # Fashion-MNIST's C and its blur-trained copies train for that data set's
    # epochs; the other stages keep the paper's schedules.
    # Both encoders train with the data set's loss weights.
    losses = {call["stage"]: call["loss"] for call in networks if call["loss"]}
    assert losses == {
        "encoder": encoder_loss("fashion_mnist"),
        "encoder_blur": encoder_loss("fashion_mnist"),
    }
    epochs = {call["stage"]: call["epochs"] for call in networks}
    assert epochs == {
        "classifier": 20, "gan": 300, "encoder": 20, "encoder_blur": 20,
        "classifier_augment": 20, "classifier_mixture": 20, "blur_estimator": 8,
    }  # fmt: skip
    # E keeps the paper's five folds; E_blur trains only the first on
    # Fashion-MNIST, and its card says why.
    folds = {
        call["stage"]: (call["folds"].folds, call["folds"].max_folds)
        for call in networks
        if call["folds"]
    }
    assert folds == {"encoder": (5, None), "encoder_blur": (5, 1)}
    notes = {call["stage"]: call["note"] for call in networks if call["note"]}
    assert list(notes) == ["encoder_blur"]
    # E settles for Fashion-MNIST's epochs; E_blur, a fine-tune, does not.
    settling = {call["stage"]: call["settling"] for call in networks if call["folds"]}
    assert settling == {
        "encoder": encoder_settling("fashion_mnist"),
        "encoder_blur": None,
    }
    assert "Only the first 1 of the paper's 5 folds" in notes["encoder_blur"]


def test_only_the_stages_asked_for_run_in_training_order(
    tmp_path, work_dir, recorded_stages
):
    cards = reproduce.reproduce_all(
        str(tmp_path / "models"),
        work_dir,
        DataSource(limit=20),
        show_progress=False,
        stages=parse_stages("blur_estimator, classifier_augment"),
    )
    assert [call["stage"] for call in recorded_stages] == [
        "classifier_augment",
        "blur_estimator",
    ]
    assert list(cards) == ["classifier_augment", "blur_estimator"]


def test_mnist_e_blur_keeps_every_fold(tmp_path, work_dir, recorded_stages):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("classifier.keras", "generator.keras", "encoder.keras"):
        (models / name).write_bytes(b"")
    reproduce.reproduce_all(
        str(models),
        work_dir,
        DataSource(limit=20),
        show_progress=False,
        stages=parse_stages("encoder_blur"),
    )
    (call,) = recorded_stages
    assert (call["folds"].folds, call["folds"].max_folds) == (5, None)
    assert call["note"] is None


def test_a_stage_without_its_inputs_is_refused_before_training(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    # An earlier stage of the same run may make the inputs...
    check_stage_inputs(str(models), parse_stages("classifier,gan,encoder,encoder_blur"))
    # ...or they may be in the models folder already.
    for name in ("classifier.keras", "generator.keras"):
        (models / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"encoder_blur trains from encoder\.keras"):
        check_stage_inputs(str(models), parse_stages("encoder_blur"))
    (models / "encoder.keras").write_bytes(b"")
    check_stage_inputs(str(models), parse_stages("encoder_blur"))
    with pytest.raises(ValueError, match=r"Unknown stage\. Received: stage='gna'"):
        parse_stages("classifier,gna")


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ("classifier,gna", "Unknown stage. Received: stage='gna'"),
        ("encoder", "Stage encoder trains from classifier.keras"),
    ],
)
def test_reproduce_refuses_bad_stages_in_one_line(tmp_path, stages, message):
    result = CliRunner().invoke(
        cli.main,
        [
            "reproduce", "--stages", stages, "--models", str(tmp_path / "models"),
            "--work-dir", str(tmp_path / "work"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "work").exists()


def test_reproduce_prints_each_stage_s_headline(tmp_path, recorded_stages):
    result = CliRunner().invoke(
        cli.main,
        [
            "reproduce", "--stages", "classifier_mixture,blur_estimator",
            "--models", str(tmp_path / "models"), "--work-dir",
            str(tmp_path / "work"), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "classifier_mixture 50.00%, blur_estimator 50.00%; models in" in (
        result.output
    )


def test_the_settings_stages_need_the_networks_they_choose_with(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(ValueError, match=r"bf16_margin trains from classifier\.keras"):
        check_stage_inputs(str(models), parse_stages("bf16_margin"))
    # The defence needs every network; the stages before it make them.
    check_stage_inputs(str(models), parse_stages(",".join(ReproduceStage)))
    (models / "classifier.keras").write_bytes(b"")
    with pytest.raises(ValueError, match=r"defense trains from generator\.keras"):
        check_stage_inputs(str(models), parse_stages("defense"))


def test_the_settings_stages_print_what_they_chose(tmp_path, recorded_stages):
    models = tmp_path / "models"
    models.mkdir()
    for name in (
        "classifier", "generator", "encoder", "encoder_blur", "classifier_augment",
        "classifier_mixture", "blur_estimator",
    ):  # fmt: skip
        (models / f"{name}.keras").write_bytes(b"")
    result = CliRunner().invoke(
        cli.main,
        [
            "reproduce", "--stages", "bf16_margin,defense", "--models", str(models),
            "--work-dir", str(tmp_path / "work"), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "defense adaptive=hybrid, bf16_margin 0.15; models in" in result.output


def test_max_epochs_caps_every_schedule_settling_included(
    tmp_path, work_dir, recorded_stages
):
    # A quick run of the whole pipeline; what runs is what the cards record.
    reproduce.reproduce_all(
        str(tmp_path / "models"),
        work_dir,
        DataSource(limit=20, dataset="fashion_mnist"),
        show_progress=False,
        max_epochs=9,
    )
    epochs = {call["stage"]: call["epochs"] for call in recorded_stages[:-2]}
    assert epochs == {
        "classifier": 9, "gan": 9, "encoder": 9, "encoder_blur": 9,
        "classifier_augment": 9, "classifier_mixture": 9, "blur_estimator": 8,
    }  # fmt: skip
    (encoder,) = [call for call in recorded_stages if call["stage"] == "encoder"]
    assert encoder["settling"].epochs == 9
    with pytest.raises(ValueError, match="max_epochs=0"):
        reproduce.reproduce_all(
            str(tmp_path / "models"), work_dir, DataSource(limit=20), max_epochs=0
        )
