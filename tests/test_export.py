"""Tests of the SavedModel export, run against the export shipped in
saved_models/egan_defense, the artifact a deployer hands to TF Serving.

No model server exists on these machines, so the server's view is reproduced
with the pieces it is made of: the C++ session loader (`saved_model_cli run`,
and a session callable that feeds tensors without Python's shape checks, as
the server does), the graph's op list, and the signature defs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from conftest import SAVED_MODELS
from helpers import assert_outputs_match, newest_version, run_like_the_server

from egan_tf import export
from egan_tf.export import SIGNATURES, Signature

# The public contract, spelled out independently of egan_tf.export so that a
# change there cannot silently move it.
DEFENCE_SIGNATURE = (
    {"images": ("DT_FLOAT", (-1, 28, 28, 1))},
    {
        "probabilities": ("DT_FLOAT", (-1, 10)),
        "logits": ("DT_FLOAT", (-1, 10)),
        "label": ("DT_INT64", (-1,)),
        "reconstruction": ("DT_FLOAT", (-1, 28, 28, 1)),
        "undefended_probabilities": ("DT_FLOAT", (-1, 10)),
    },
)
DOCUMENTED_SIGNATURES = {
    "serving_default": (
        {"images": ("DT_FLOAT", (-1, 28, 28, 1))},
        {
            "probabilities": ("DT_FLOAT", (-1, 10)),
            "label": ("DT_INT64", (-1,)),
            "reconstruction": ("DT_FLOAT", (-1, 28, 28, 1)),
            "undefended_probabilities": ("DT_FLOAT", (-1, 10)),
        },
    ),
    "blur": (
        {
            "images": ("DT_FLOAT", (-1, 28, 28, 1)),
            "length": ("DT_FLOAT", (-1,)),
            "angle": ("DT_FLOAT", (-1,)),
        },
        {"images": ("DT_FLOAT", (-1, 28, 28, 1))},
    ),
    "blur_and_defend": (
        {
            "images": ("DT_FLOAT", (-1, 28, 28, 1)),
            "length": ("DT_FLOAT", (-1,)),
            "angle": ("DT_FLOAT", (-1,)),
        },
        {
            "probabilities": ("DT_FLOAT", (-1, 10)),
            "label": ("DT_INT64", (-1,)),
            "reconstruction": ("DT_FLOAT", (-1, 28, 28, 1)),
            "undefended_probabilities": ("DT_FLOAT", (-1, 10)),
            "blurred": ("DT_FLOAT", (-1, 28, 28, 1)),
        },
    ),
    "classify": (
        {"images": ("DT_FLOAT", (-1, 28, 28, 1))},
        {"probabilities": ("DT_FLOAT", (-1, 10)), "label": ("DT_INT64", (-1,))},
    ),
    "defend_adaptive": DEFENCE_SIGNATURE,
    "defend_gated": DEFENCE_SIGNATURE,
}


# Each data set's shipped networks, and the fixture of its test images.
SHIPPED_MODEL_FOLDERS = {
    "mnist": (SAVED_MODELS, "mnist_test"),
    "fashion_mnist": (os.path.join(SAVED_MODELS, "fashion_mnist"), "fashion_test"),
}


@dataclasses.dataclass(frozen=True)
class ShippedExport:
    """One data set's shipped export, with what it was made from."""

    dataset: str
    models_dir: str
    export_dir: str
    test: object
    functions: dict


@pytest.fixture(scope="module", params=sorted(SHIPPED_MODEL_FOLDERS))
def each_shipped_export(request) -> ShippedExport:
    """Every data set's shipped export (its newest version), its test images
    and the in-memory serving functions of its networks."""
    models_dir, test_fixture = SHIPPED_MODEL_FOLDERS[request.param]
    return ShippedExport(
        dataset=request.param,
        models_dir=models_dir,
        export_dir=newest_version(os.path.join(models_dir, "egan_defense")),
        test=request.getfixturevalue(test_fixture),
        functions=export.make_serving_functions(*export.load_export_models(models_dir)),
    )


@pytest.fixture(scope="module")
def serving_functions():
    return export.make_serving_functions(*export.load_export_models(SAVED_MODELS))


def request_inputs(
    signature: Signature, mnist_test, batch_size: int
) -> dict[str, np.ndarray]:
    """Real test digits, with a different blur setting for every image."""
    images = mnist_test.images[:batch_size].astype(np.float32) / 255.0
    inputs = {"images": images}
    keys = {contract.key for contract in SIGNATURES[signature].inputs}
    if "length" in keys:
        inputs["length"] = np.linspace(0.0, 0.3, batch_size, dtype=np.float32)
        inputs["angle"] = np.linspace(0.0, 135.0, batch_size, dtype=np.float32)
    return inputs


def in_memory_outputs(serving_functions, signature, inputs):
    outputs = serving_functions[signature](
        **{key: tf.constant(value) for key, value in inputs.items()}
    )
    return {key: value.numpy() for key, value in outputs.items()}


def test_the_shipped_export_was_made_from_the_shipped_networks(each_shipped_export):
    root = os.path.dirname(each_shipped_export.export_dir)
    with open(os.path.join(root, export.EXPORT_CARD_FILE)) as handle:
        card = json.load(handle)
    entry = card["versions"][-1]
    assert entry["version"] == int(os.path.basename(each_shipped_export.export_dir))
    assert entry["sources"]
    for name, source in entry["sources"].items():
        assert source["sha256"] == export.file_sha256(
            os.path.join(each_shipped_export.models_dir, name)
        )
    with open(os.path.join(root, export.MODELS_CONFIG_FILE)) as handle:
        config_text = handle.read()
    assert 'name: "egan_defense"' in config_text
    assert 'base_path: "/models/egan_defense"' in config_text


FRESH_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    export_dir, folder = sys.argv[1:]
    loaded = tf.saved_model.load(export_dir)
    with open(f"{folder}/requests.json") as handle:
        requests = json.load(handle)
    for name, signature in requests.items():
        inputs = dict(np.load(f"{folder}/{name}.inputs.npz"))
        outputs = loaded.signatures[signature](
            **{key: tf.constant(value) for key, value in inputs.items()}
        )
        np.savez(
            f"{folder}/{name}.outputs.npz",
            **{key: value.numpy() for key, value in outputs.items()},
        )
    leaked = sorted(name for name in sys.modules if name.split(".")[0] == "egan_tf")
    assert not leaked, leaked
    """
)
FRESH_PROCESS_BATCH_SIZES = (1, 7)
GATED_FAMILIES_REQUEST = "defend_gated-every-blur-family"


def gated_family_images(test, dataset: str = "mnist") -> np.ndarray:
    """20 test images per blur family, each at another setting of the family's
    grid at the data set's length scale, so that the gate routes some images
    to the restoration and keeps others: float32 [20 * families, 28, 28, 1]
    in [0, 1]."""
    from egan_tf.datasets import dataset_spec
    from egan_tf.export.equivalence import family_requests
    from egan_tf.grid_spec import BlurKind

    sharp = test.images[:20].astype(np.float32) / 255.0
    scale = dataset_spec(dataset).length_scale
    return np.concatenate([family_requests(sharp, b, scale) for b in BlurKind])


def run_in_fresh_process(
    export_dir: str, requests: dict[str, tuple[Signature, dict]], folder
) -> dict[str, dict[str, np.ndarray]]:
    """Runs every request, name -> (signature, inputs), in one new Python
    process that loads the export once and never imports egan_tf; returns
    name -> outputs by key. One process, because loading the export costs far
    more than running it."""
    (folder / "requests.json").write_text(
        json.dumps({name: str(signature) for name, (signature, _) in requests.items()})
    )
    for name, (_, inputs) in requests.items():
        np.savez(folder / f"{name}.inputs.npz", **inputs)
    script = folder / "load.py"
    script.write_text(FRESH_PROCESS_SCRIPT)
    subprocess.run(
        [sys.executable, str(script), export_dir, str(folder)],
        check=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": ""},
    )
    return {name: dict(np.load(folder / f"{name}.outputs.npz")) for name in requests}


@pytest.fixture(scope="module")
def fresh_process_requests(mnist_test) -> dict[str, tuple[Signature, dict]]:
    requests = {
        f"{signature}-{batch_size}": (
            signature,
            request_inputs(signature, mnist_test, batch_size),
        )
        for signature in Signature
        for batch_size in FRESH_PROCESS_BATCH_SIZES
    }
    requests[GATED_FAMILIES_REQUEST] = (
        Signature.DEFEND_GATED,
        {"images": gated_family_images(mnist_test)},
    )
    return requests


@pytest.fixture(scope="module")
def fresh_process_outputs(shipped_export, fresh_process_requests, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh_process")
    return run_in_fresh_process(shipped_export, fresh_process_requests, folder)


@pytest.mark.parametrize("signature", list(Signature))
def test_a_fresh_process_without_egan_tf_gets_the_in_memory_outputs(
    signature, fresh_process_requests, fresh_process_outputs, serving_functions
):
    for batch_size in FRESH_PROCESS_BATCH_SIZES:
        name = f"{signature}-{batch_size}"
        _, inputs = fresh_process_requests[name]
        assert_outputs_match(
            fresh_process_outputs[name],
            in_memory_outputs(serving_functions, signature, inputs),
        )


def saved_model_cli() -> str:
    path = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    return path if os.path.exists(path) else shutil.which("saved_model_cli")


@pytest.mark.parametrize(
    "signature", [Signature.SERVING_DEFAULT, Signature.BLUR_AND_DEFEND]
)
def test_saved_model_cli_run_through_the_session_loader(
    signature, shipped_export, serving_functions, mnist_test, tmp_path
):
    inputs = request_inputs(signature, mnist_test, 5)
    assert_outputs_match(
        run_saved_model_cli(shipped_export, signature, inputs, tmp_path),
        in_memory_outputs(serving_functions, signature, inputs),
    )


def run_saved_model_cli(export_dir, signature, inputs, tmp_path) -> dict:
    """Runs a signature through `saved_model_cli run` (the C++ session
    loader); returns its outputs by key."""
    arguments = []
    for key, value in inputs.items():
        np.save(tmp_path / f"{key}.npy", value)
        arguments.append(f"{key}={tmp_path / f'{key}.npy'}")
    outdir = tmp_path / "outputs"
    subprocess.run(
        [
            saved_model_cli(), "run", "--dir", export_dir, "--tag_set", "serve",
            "--signature_def", str(signature), "--inputs", ";".join(arguments),
            "--outdir", str(outdir), "--overwrite",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return {name[: -len(".npy")]: np.load(outdir / name) for name in os.listdir(outdir)}


def assert_gated_answers_match(actual, expected, images):
    """The exported defend_gated's answers are the method's, and its gate
    both restored and kept some of `images`."""
    np.testing.assert_array_equal(actual["label"], expected["label"])
    np.testing.assert_allclose(actual["logits"], expected["logits"], atol=1e-4)
    restored = np.any(expected["reconstruction"] != images, axis=(1, 2, 3))
    assert 0 < restored.sum() < len(images)


def test_defend_gated_in_a_fresh_process_answers_as_the_method_on_every_blur_family(
    serving_functions, fresh_process_requests, fresh_process_outputs
):
    _, inputs = fresh_process_requests[GATED_FAMILIES_REQUEST]
    assert_gated_answers_match(
        fresh_process_outputs[GATED_FAMILIES_REQUEST],
        in_memory_outputs(serving_functions, Signature.DEFEND_GATED, inputs),
        inputs["images"],
    )


def test_defend_gated_through_the_session_loader_answers_as_the_method_on_every_blur_family(
    each_shipped_export, tmp_path
):
    inputs = {
        "images": gated_family_images(
            each_shipped_export.test, each_shipped_export.dataset
        )
    }
    assert_gated_answers_match(
        run_saved_model_cli(
            each_shipped_export.export_dir, Signature.DEFEND_GATED, inputs, tmp_path
        ),
        in_memory_outputs(
            each_shipped_export.functions, Signature.DEFEND_GATED, inputs
        ),
        inputs["images"],
    )


def parse_saved_model_cli_show(text: str) -> dict[str, tuple[dict, dict]]:
    """Signature -> (inputs, outputs), each key -> (dtype, shape tuple)."""
    signatures = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block.split("'", 1)[0]
        inputs_text, _, outputs_text = block.partition("contains the following output")
        signatures[name] = tuple(
            {
                key: (dtype, tuple(int(size) for size in shape.split(",") if size))
                for key, dtype, shape in re.findall(
                    r"\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([-\d, ]*)\)",
                    part,
                )
            }
            for part in (inputs_text, outputs_text)
        )
    return signatures


def test_saved_model_cli_show_lists_the_documented_signatures(each_shipped_export):
    shown = subprocess.run(
        [saved_model_cli(), "show", "--dir", each_shipped_export.export_dir, "--all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    signatures = parse_saved_model_cli_show(shown)
    for name, (inputs, outputs) in DOCUMENTED_SIGNATURES.items():
        assert signatures[name] == (inputs, outputs), name
        for _, shape in [*inputs.values(), *outputs.values()]:
            assert shape[0] == -1, f"{name} has a fixed batch size"
    assert "Method name is: tensorflow/serving/predict" in shown


def test_documented_signatures_match_the_exported_contract():
    for signature, contract in SIGNATURES.items():
        inputs, outputs = DOCUMENTED_SIGNATURES[str(signature)]
        for documented, contracts in (
            (inputs, contract.inputs),
            (outputs, contract.outputs),
        ):
            assert {c.key for c in contracts} == set(documented)


def test_every_op_is_a_core_op_and_none_calls_python(shipped_export):
    op_types = export.graph_op_types(shipped_export)
    # The walk reaches into the function library, where the networks and the
    # FFT blur live, not only the top-level graph of placeholders and calls.
    assert {"Conv2D", "FFT2D", "IFFT2D", "Softmax", "EnsureShape"} <= op_types
    assert export.unservable_op_types(op_types) == set()
    assert not op_types & export.PYTHON_FUNCTION_OPS


def test_the_op_walk_catches_a_python_function(tmp_path):
    module = tf.Module()
    module.call = tf.function(
        lambda x: tf.py_function(lambda v: v * 2.0, [x], tf.float32),
        input_signature=[tf.TensorSpec([None], tf.float32)],
    )
    tf.saved_model.save(module, str(tmp_path), signatures=module.call)
    assert "EagerPyFunc" in export.unservable_op_types(
        export.graph_op_types(str(tmp_path))
    )
    with pytest.raises(export.ExportError, match="EagerPyFunc"):
        export.check_servable(str(tmp_path))
    assert export.unservable_op_types({"NoSuchCustomOp", "MatMul"}) == {
        "NoSuchCustomOp"
    }


def test_the_session_path_gives_the_in_memory_outputs(
    server_session, serving_functions, mnist_test
):
    inputs = request_inputs(Signature.SERVING_DEFAULT, mnist_test, 3)
    assert_outputs_match(
        run_like_the_server(server_session, Signature.SERVING_DEFAULT, inputs),
        in_memory_outputs(serving_functions, Signature.SERVING_DEFAULT, inputs),
    )
