"""`evaluate`: one request in, records computed, the files asked for written.

The command line turns its options into one `EvaluateRequest` and calls
`run_evaluate`; notebooks and scripts can do the same. Every output path is
checked before any model or data is loaded, so that a bad path fails at once.
Building a request imports no TensorFlow; running it does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from egan_tf.atomic_files import check_writable, write_json_atomically
from egan_tf.data_paths import DataSource
from egan_tf.defenses import DefenseConfig, Method, load_defense_config
from egan_tf.execution import Precision
from egan_tf.grid_spec import DEFAULT_GRID_BATCH_SIZE, BlurKind, GridSpec
from egan_tf.image_reading import ImageReading
from egan_tf.model_files import (
    EGAN_FILES,
    check_trained_on,
    load_recheck_margin,
    missing_files,
    missing_models_message,
)


@dataclasses.dataclass(frozen=True)
class EvaluationOutputs:
    """Files an evaluation writes; None skips each.

    Attributes:
        json_path: The records as JSON.
        csv_path: With a grid: one CSV row per grid point.
        figures_dir: With a grid: PNG figures.
        logdir: With a grid: TensorBoard scalars.
    """

    json_path: str | None = None
    csv_path: str | None = None
    figures_dir: str | None = None
    logdir: str | None = None

    @property
    def grid_only(self) -> dict[str, str]:
        """The outputs given that only a grid evaluation writes."""
        return {
            name: value
            for name, value in (
                ("csv_path", self.csv_path),
                ("figures_dir", self.figures_dir),
                ("logdir", self.logdir),
            )
            if value
        }

    def check_writable(self) -> None:
        """Raises OutputPathError naming the first path that cannot be written."""
        for path, is_folder in (
            (self.json_path, False),
            (self.csv_path, False),
            (self.figures_dir, True),
            (self.logdir, True),
        ):
            if path:
                check_writable(path, is_folder)


@dataclasses.dataclass(frozen=True)
class MethodsSelection:
    """Which defences to compare, and an override of their refinement steps.

    Attributes:
        methods: At least one method.
        refine_steps: Adam steps of the latent refinement instead of
            `defense.json`'s, or None to keep them.
        skip_unavailable: Leave out the methods whose networks the models
            folder lacks (what "all" means) instead of refusing them.
    """

    methods: tuple[Method, ...]
    refine_steps: int | None = None
    skip_unavailable: bool = False

    def __post_init__(self):
        methods = tuple(Method(method) for method in self.methods)
        if not methods:
            raise ValueError("No methods to evaluate. Received: methods=[]")
        if self.refine_steps is not None and self.refine_steps < 0:
            raise ValueError(
                f"refine_steps must be ≥ 0. Received: refine_steps={self.refine_steps}"
            )
        object.__setattr__(self, "methods", methods)

    def config(self, shipped: DefenseConfig) -> DefenseConfig:
        """The settings to run with: the shipped ones, with the override."""
        if self.refine_steps is None:
            return shipped
        return dataclasses.replace(shipped, refine_steps=self.refine_steps)


@dataclasses.dataclass(frozen=True)
class EvaluateRequest:
    """What `evaluate` is asked to compute and where to write it.

    Attributes:
        models_dir: Folder of the shipped networks.
        data: Where the test images come from, and how many.
        grid: The blur grid, or None for the clean images only.
        methods: The defences to compare over `grid`, or None for the
            paper's experiment.
        outputs: Files to write.
        batch_size: Test images per graph call for the clean evaluation
            and for `images` (a grid has its own in `GridSpec.batch_size`).
        show_progress: Whether to draw progress bars.
        images: A user's labelled images (an `.npz` or a folder
            `<label>/*.png`) to run `methods` on as they are, instead of the
            test set; None for the test set.
        image_reading: How `images` are read: fitted to 28x28 or refused,
            inverted or not.
        classifier: A user's `.keras` classifier to put in C's place, or
            None for the shipped C (see `egan_tf.user_classifier`).
        precision: How the networks compute (`egan_tf.precision`); the
            blur and every FFT stay float32.

    Raises:
        OutputPathError: When built, for an output that cannot be written, so
            that a mistyped path fails before TensorFlow is even imported.
    """

    models_dir: str
    data: DataSource = dataclasses.field(default_factory=DataSource)
    grid: GridSpec | None = None
    methods: MethodsSelection | None = None
    outputs: EvaluationOutputs = dataclasses.field(default_factory=EvaluationOutputs)
    batch_size: int = DEFAULT_GRID_BATCH_SIZE
    show_progress: bool = True
    images: str | None = None
    image_reading: ImageReading = dataclasses.field(default_factory=ImageReading)
    classifier: str | None = None
    precision: Precision = Precision.FLOAT32

    def __post_init__(self):
        self.outputs.check_writable()
        object.__setattr__(self, "precision", Precision(self.precision))
        check_trained_on(self.models_dir, self.data.dataset)
        if self.precision == Precision.BFLOAT16:
            load_recheck_margin(self.models_dir)
        if self.images is not None:
            if self.grid is not None:
                raise ValueError(
                    "A user's images are taken as they are, with no blur grid. "
                    f"Received: images={self.images}, grid={self.grid}"
                )
            if self.outputs.grid_only:
                raise ValueError(
                    "These outputs need a grid. "
                    f"Received: {self.outputs.grid_only}, images={self.images}"
                )
            return
        if self.grid is None and self.methods is not None:
            raise ValueError("Methods are compared over a grid. Received: grid=None")
        if self.grid is None and self.outputs.grid_only:
            raise ValueError(
                "These outputs need a grid. "
                f"Received: {self.outputs.grid_only}, grid=None"
            )
        if (
            self.grid is not None
            and self.grid.blur != BlurKind.FOURIER
            and self.methods is None
        ):
            raise ValueError(
                "The paper's grid uses the Fourier blur; other blurs go with "
                f"methods. Received: blur={self.grid.blur}"
            )


def run_evaluate(
    request: EvaluateRequest, echo: Callable[[str], None] = print
) -> list[str]:
    """Runs the evaluation `request` asks for, reporting as it goes.

    Args:
        request: What to compute and write.
        echo: Receives each report (tables, summaries) as soon as it is ready.

    Returns:
        The paths written.

    Raises:
        DataError, ModelFileError: For missing or corrupt data or models.
    """
    if request.images is not None:
        return _evaluate_images(request, echo)
    if request.grid is None:
        return _evaluate_clean(request, echo)
    if request.methods is None:
        return _evaluate_paper_grid(request, echo)
    return _evaluate_methods(request, echo)


def _test_images(request: EvaluateRequest):
    return request.data.load("test")


def _user_classifier(request: EvaluateRequest, echo):
    """The user's classifier, announced, or None for the shipped C."""
    if request.classifier is None:
        return None
    from egan_tf.user_classifier import load_user_classifier

    classifier = load_user_classifier(request.classifier)
    echo(f"Classifier C: {classifier.describe()}")
    return classifier


def _margin(request: EvaluateRequest) -> float:
    """The close-call margin of the models folder's classifiers (bfloat16
    only; float32 has none to recheck)."""
    from egan_tf.precision import BFLOAT16_RECHECK_MARGIN

    if request.precision == Precision.FLOAT32:
        return BFLOAT16_RECHECK_MARGIN
    return load_recheck_margin(request.models_dir)


def _shipped_models(request: EvaluateRequest, echo, require_egan: bool):
    """C, G and E, with the user's classifier as C when one is given; and
    the JSON keys that record it."""
    from egan_tf.model_io import load_shipped_models
    from egan_tf.precision import inference_models
    from egan_tf.user_classifier import shipped_with_user_classifier

    classifier = _user_classifier(request, echo)
    models = load_shipped_models(request.models_dir, require_egan=require_egan)
    extra = {"precision": str(request.precision)}
    if classifier is not None:
        models = shipped_with_user_classifier(models, classifier)
        extra["classifier"] = classifier.to_dict()
    return inference_models(models, request.precision, _margin(request)), extra


def _defense_setup(request: EvaluateRequest, echo):
    """The defences' networks and settings (with the user's classifier as C
    when one is given), the methods to run, why the others cannot run, and
    the JSON keys that record the classifier."""
    from egan_tf.defenses import load_defense_models, not_loaded_reason
    from egan_tf.precision import inference_models
    from egan_tf.user_classifier import with_user_classifier

    classifier = _user_classifier(request, echo)
    selection = request.methods or MethodsSelection(
        tuple(Method), skip_unavailable=True
    )
    models = load_defense_models(request.models_dir)
    config = selection.config(load_defense_config(request.models_dir))
    extra = {"precision": str(request.precision)}
    skip_missing = selection.skip_unavailable
    if classifier is not None:
        models, config, notes = with_user_classifier(models, config, classifier)
        for note in notes:
            echo(f"Note: {note}.")
        extra["classifier"] = {**classifier.to_dict(), "notes": notes}
        # Copies of the shipped C do not exist for the user's: not applicable.
        skip_missing = True
    models = inference_models(models, request.precision, _margin(request))
    methods, not_applicable = [], {}
    for method in selection.methods:
        reason = not_loaded_reason(models, method, config.gated_restorer)
        if reason and skip_missing:
            not_applicable[str(method)] = reason
        else:
            methods.append(method)
    return models, config, methods, not_applicable, extra


def _evaluate_clean(request, echo) -> list[str]:
    from egan_tf.evaluation import evaluate_clean
    from egan_tf.reporting import format_clean_record

    models, extra = _shipped_models(request, echo, require_egan=False)
    record = evaluate_clean(models, _test_images(request), request.batch_size)
    echo(format_clean_record(record))
    if models.generator is None:
        # A folder shipped stage by stage may hold C alone; say so rather
        # than leave the EGAN's lines out without a word.
        missing = missing_files(request.models_dir, EGAN_FILES)
        echo(
            "EGAN accuracy C(G(E(x))):     not measured. "
            + missing_models_message(request.models_dir, missing)
        )
    if not request.outputs.json_path:
        return []
    write_json_atomically(request.outputs.json_path, {**record.to_dict(), **extra})
    return [request.outputs.json_path]


def _evaluate_paper_grid(request, echo) -> list[str]:
    from egan_tf.grid import evaluate_grid
    from egan_tf.grid_outputs import write_grid_outputs
    from egan_tf.reporting import format_grid

    models, extra = _shipped_models(request, echo, require_egan=True)
    test = _test_images(request)
    result = evaluate_grid(models, test, request.grid, request.show_progress)
    echo(format_grid(result))
    outputs = request.outputs
    return write_grid_outputs(
        result,
        models,
        test,
        outputs.json_path,
        outputs.csv_path,
        outputs.figures_dir,
        outputs.logdir,
        extra,
    )


def _evaluate_methods(request, echo) -> list[str]:
    """Every method side by side (and, for the Fourier blur, the paper's
    tables as well, written into the same JSON)."""
    from egan_tf.defenses import check_methods_available
    from egan_tf.grid import evaluate_grid
    from egan_tf.grid_outputs import write_grid_outputs, write_methods_outputs
    from egan_tf.methods_grid import evaluate_methods_grid, time_methods
    from egan_tf.model_io import ShippedModels
    from egan_tf.reporting import format_grid, format_methods_grid

    spec, outputs = request.grid, request.outputs
    models, config, methods, not_applicable, extra = _defense_setup(request, echo)
    check_methods_available(models, methods, config.gated_restorer)
    test = _test_images(request)
    written, paper = [], None
    if spec.blur == BlurKind.FOURIER:
        shipped = ShippedModels(models.classifier, models.generator, models.encoder)
        paper = evaluate_grid(shipped, test, spec, request.show_progress)
        echo(format_grid(paper) + "\n")
        written += write_grid_outputs(
            paper,
            shipped,
            test,
            None,
            outputs.csv_path,
            outputs.figures_dir,
            outputs.logdir,
        )
    result = evaluate_methods_grid(
        models, config, test, methods, spec, request.show_progress
    )
    # Timed on one graph call's worth of images.
    costs = time_methods(models, config, methods, test.images[: spec.batch_size], spec)
    echo(format_methods_grid(result, costs))
    for name, reason in not_applicable.items():
        echo(f"{name}: not applicable ({reason})")
    return written + write_methods_outputs(
        result,
        costs,
        models,
        config,
        test,
        paper,
        outputs.json_path,
        outputs.figures_dir,
        {**extra, "not_applicable": not_applicable},
    )


def _evaluate_images(request, echo) -> list[str]:
    """Every asked-for method on the user's images (all methods by default)."""
    from egan_tf.images_evaluation import evaluate_images
    from egan_tf.reporting import format_images_result, images_json
    from egan_tf.user_images import load_labelled_images

    images = load_labelled_images(
        request.images, request.data.spec.class_names, request.image_reading
    )
    models, config, methods, not_applicable, extra = _defense_setup(request, echo)
    result = evaluate_images(
        models,
        config,
        images,
        methods,
        request.batch_size,
        request.show_progress,
        classifier=request.classifier or "shipped",
    )
    result = dataclasses.replace(
        result, not_applicable={**not_applicable, **result.not_applicable}
    )
    echo(format_images_result(result))
    if not request.outputs.json_path:
        return []
    write_json_atomically(request.outputs.json_path, {**images_json(result), **extra})
    return [request.outputs.json_path]
