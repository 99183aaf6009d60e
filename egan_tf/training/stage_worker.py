"""One stage of `reproduce --jobs`, in a process of its own.

    python -m egan_tf.training.stage_worker '{"stage": "gan", ...}'

The JSON request is `StageJobsRequest.worker_request`'s. The stage runs as
`reproduce --stages <stage>` would, without progress bars; its card is
written to the models folder. With `"helper": true` the process instead
trains the stage's folds that no process has taken (`help_reproduce`) and
writes no card. Exit status 0 when it finished, 130 when it
was stopped after a checkpoint, 1 on an error a user can fix (its message in
one line, last on the output; any other error ends with its traceback).
"""

from __future__ import annotations

import json
import sys

from egan_tf.config import config_from_dict
from egan_tf.data_paths import DataSource
from egan_tf.errors import TrainingInterrupted, first_line
from egan_tf.execution import ExecutionConfig
from egan_tf.training.stages import ReproduceStage


def run_stage(request: dict) -> None:
    """Trains `request["stage"]` as `reproduce_all` does, or helps it."""
    from egan_tf.training.reproduce import help_reproduce, reproduce_all
    from egan_tf.training.runtime import Runtime

    data = DataSource(**request["data"])
    execution = config_from_dict(ExecutionConfig, request["execution"])
    stage = ReproduceStage(request["stage"])
    with Runtime.create(execution) as runtime:
        if request.get("helper", False):
            folds = help_reproduce(
                stage,
                request["models_dir"],
                request["work_dir"],
                data,
                request["logdir"],
                runtime,
                request.get("max_epochs"),
            )
            print(
                f"Trained fold(s) {', '.join(map(str, folds)) or 'none'} of "
                f"{stage.value}; no fold was left to take.",
                flush=True,
            )
            return
        reproduce_all(
            request["models_dir"],
            request["work_dir"],
            data,
            request["logdir"],
            show_progress=False,
            runtime=runtime,
            stages=(stage,),
            max_epochs=request.get("max_epochs"),
        )


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    try:
        run_stage(request)
    except TrainingInterrupted as error:
        print(error, flush=True)
        return 130
    except (ValueError, OSError) as error:
        # What a user can fix, in one line, last on the output, which is
        # what `reproduce --jobs` reports; other errors keep their traceback.
        print(first_line(error), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
