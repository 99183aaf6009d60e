"""The `reproduce` command: every shipped network of a data set retrained, in
one process or in stage jobs side by side, with its progress and headlines."""

from __future__ import annotations

import click

from egan_tf.atomic_files import check_writable
from egan_tf.commands.data_options import (
    data_dir_option,
    dataset_option,
    models_option,
)
from egan_tf.commands.execution_options import execution_options
from egan_tf.commands.options import (
    build_request,
    import_tensorflow_quietly,
    one_line_errors,
)
from egan_tf.data_paths import DataSource


@click.command("reproduce")
@dataset_option()
@models_option("Folder the rebuilt models are written to.", must_exist=False)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    default="checkpoints",
    show_default=True,
    help="Checkpoints of every stage; rerun to resume.",
)
@data_dir_option()
@click.option(
    "--logdir",
    type=click.Path(file_okay=False),
    default=None,
    help="TensorBoard folder; one sub-folder per stage.",
)
@click.option(
    "--stages",
    default=None,
    help="Only these stages, comma-separated, in training order (default: all): "
    "classifier, gan, encoder, encoder_blur, classifier_augment, "
    "classifier_mixture, blur_estimator, then defense (the defence's settings, "
    "chosen on held-out training images: defense.json) and bf16_margin "
    "(bf16_margin.json). Stages that need no other (classifier, gan, "
    "classifier_augment, classifier_mixture, blur_estimator) may run in a second "
    "process beside the rest, with the same folders.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run up to this many stages at once, each in a process of its own "
    "with the cores shared out, each started as soon as the networks it needs "
    "are made; each logs to <work-dir>/<stage>.log. On a CPU two stages side "
    "by side do more work than one after the other (bench/parallel_stages.py).",
)
@click.option(
    "--max-epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Cap every stage's epochs (the encoder's settling too): a quick run "
    "of the whole pipeline, e.g. on a --data-dir of a few images, before the "
    "real one. The cards record the schedule that ran.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@execution_options
@one_line_errors
def reproduce_command(
    dataset,
    models_dir,
    work_dir,
    data_dir,
    logdir,
    stages,
    jobs,
    max_epochs,
    quiet,
    execution,
):
    """Retrain every shipped network: C, the GAN (300 epochs), E (5 x 20), E_blur,
    C_aug, C_mix and B; then choose the defence's settings and bfloat16's margin
    on held-out training images."""
    from egan_tf.training.stages import (
        ReproduceStage,
        check_stage_inputs,
        parse_stages,
    )

    stages = (
        tuple(ReproduceStage) if stages is None else build_request(parse_stages, stages)
    )
    for folder in (models_dir, work_dir, logdir):
        if folder:
            build_request(check_writable, folder, is_folder=True)
    build_request(check_stage_inputs, models_dir, stages)
    data = build_request(DataSource, data_dir, None, dataset)
    if jobs > 1:
        from egan_tf.training.stage_jobs import StageJobsRequest

        request = build_request(
            StageJobsRequest,
            models_dir,
            work_dir,
            data,
            stages,
            jobs,
            logdir,
            execution,
            max_epochs,
        )
        cards = run_jobs_with_progress(request, show_progress=not quiet)
        click.echo(f"{format_stage_headlines(cards)}; models in {models_dir}")
        return
    import_tensorflow_quietly()
    from egan_tf.training.reproduce import reproduce_all
    from egan_tf.training.runtime import Runtime

    with Runtime.create(execution) as runtime:
        cards = reproduce_all(
            models_dir, work_dir, data, logdir, not quiet, runtime, stages, max_epochs
        )
    click.echo(f"{format_stage_headlines(cards)}; models in {models_dir}")


def run_jobs_with_progress(request, show_progress: bool) -> dict[str, dict]:
    """Runs `reproduce --jobs` with a bar over its stages and a line each time
    a stage starts or finishes."""
    from tqdm.auto import tqdm

    from egan_tf.training.stage_jobs import StageFailed, run_stage_jobs

    with tqdm(
        total=len(request.stages),
        desc="stages",
        disable=not show_progress,
        dynamic_ncols=True,
    ) as bar:

        def report(event):
            running = ", ".join(stage.value for stage in event.running) or "none"
            what = (
                f"{event.stage.value}'s fold helper"
                if event.helper
                else event.stage.value
            )
            if event.finished:
                if not event.helper:
                    bar.update(1)
                bar.write(
                    f"finished {what} in "
                    f"{format_duration(event.seconds)}; running: {running}"
                )
            else:
                bar.write(
                    f"started {what} (log: "
                    f"{request.log_path(event.stage, event.helper)}; "
                    f"{event.threads} thread(s)); running: {running}"
                )
            bar.set_postfix_str(running)

        try:
            return run_stage_jobs(request, report)
        except StageFailed as error:
            raise click.ClickException(str(error)) from None


def format_duration(seconds: float) -> str:
    """A duration in the unit a person reads it in: "40 s", "12.5 min",
    "3.20 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def format_stage_headlines(cards: dict[str, dict]) -> str:
    """One headline per stage: a network's test accuracy (the EGAN's for an
    encoder), the defence's adaptive method and bfloat16's margin, e.g.
    "classifier 99.46%, encoder 97.85%, defense adaptive=hybrid,
    bf16_margin 0.15"."""
    headlines = []
    for stage, card in cards.items():
        accuracy = card.get("test", {}).get("egan_accuracy", card.get("test_accuracy"))
        if accuracy is not None:
            headlines.append(f"{stage} {accuracy:.2%}")
        elif "adaptive_method" in card:
            headlines.append(f"{stage} adaptive={card['adaptive_method']}")
        elif "margin" in card:
            headlines.append(f"{stage} {card['margin']:g}")
        else:
            headlines.append(stage)
    return ", ".join(headlines)
