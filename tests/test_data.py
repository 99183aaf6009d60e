"""Tests of MNIST loading through the real tfds loader and the IDX fallback."""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPOSITORY, SHARED_DATA, SHARED_IDX, SHARED_TFDS

from egan_tf.data import (
    DataCorruptError,
    DataNotFoundError,
    load_split,
    to_unit_interval,
)


def _example_hashes(arrays):
    return sorted(
        hashlib.sha1(image.tobytes() + bytes([label])).hexdigest()
        for image, label in zip(arrays.images, arrays.labels, strict=True)
    )


def test_tfds_test_split_shapes_and_counts(mnist_test):
    assert mnist_test.images.shape == (10000, 28, 28, 1)
    assert mnist_test.images.dtype == np.uint8
    assert mnist_test.labels.dtype == np.int64
    assert np.bincount(mnist_test.labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009,
    ]  # fmt: skip


@pytest.mark.skipif(not os.path.isdir(SHARED_IDX), reason="no IDX folder")
def test_idx_files_hold_the_same_examples_as_tfds(mnist_test):
    from_idx = load_split("test", data_dir=SHARED_IDX)
    assert from_idx.images.shape == mnist_test.images.shape
    assert _example_hashes(from_idx) == _example_hashes(mnist_test)


def test_missing_data_names_both_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError) as raised:
        load_split("test")
    assert "TFDS_DATA_DIR" in str(raised.value)
    assert "--data-dir" in str(raised.value)
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        load_split("test", data_dir=str(tmp_path / "absent"))


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="Received: split='validation'"):
        load_split("validation")


def test_unit_interval_scaling():
    scaled = to_unit_interval(np.array([0, 128, 255], np.uint8)).numpy()
    np.testing.assert_allclose(scaled, [0.0, 128 / 255, 1.0])
    assert scaled.dtype == np.float32


# --- Faults a new user hit: relative data folders and corrupt files. ---

TFDS_VERSION_DIR = os.path.join("mnist", "3.0.1")


def _cli(arguments, cwd, env=None, timeout=180):
    """Runs `python cli.py …` as a user would; returns the completed process."""
    return subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "cli.py"), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def _one_error_line(completed) -> str:
    """The single `Error:` line of a failed command; no traceback, no warning."""
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert "WARNING" not in completed.stderr, completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Error: "), completed.stderr
    return lines[0]


@pytest.mark.skipif(not os.path.isdir(SHARED_TFDS), reason="no TFDS folder")
def test_a_relative_tfds_data_dir_means_the_folder_the_user_ran_from(tmp_path):
    # As the README sets it up: a relative TFDS_DATA_DIR, exported in the
    # checkout's parent; then a program that runs a command from elsewhere,
    # as the test suite and the notebooks do.
    parent = os.path.dirname(SHARED_DATA)
    relative = os.path.relpath(SHARED_TFDS, parent)
    script = textwrap.dedent(
        f"""
        import os, subprocess, sys
        import egan_tf  # the package anchors TFDS_DATA_DIR on import
        completed = subprocess.run(
            [sys.executable, {os.path.join(REPOSITORY, "cli.py")!r},
             "evaluate", "--limit", "5"],
            cwd={str(tmp_path)!r}, capture_output=True, text=True,
        )
        sys.stdout.write(completed.stdout)
        sys.stderr.write(completed.stderr)
        sys.exit(completed.returncode)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=parent,
        env={**os.environ, "TFDS_DATA_DIR": relative},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Classifier accuracy C(x)" in completed.stdout


@pytest.mark.skipif(not os.path.isdir(SHARED_IDX), reason="no IDX folder")
def test_a_truncated_idx_file_is_one_line_naming_it(tmp_path):
    folder = tmp_path / "idx"
    shutil.copytree(SHARED_IDX, folder)
    damaged = folder / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:50_000])
    with pytest.raises(DataCorruptError, match=r"t10k-images-idx3-ubyte\.gz"):
        load_split("test", data_dir=str(folder))
    (folder / "SHA256SUMS").unlink()  # the gzip stream itself is cut short
    with pytest.raises(DataCorruptError, match="corrupt or truncated"):
        load_split("test", data_dir=str(folder))
    line = _one_error_line(_cli(["evaluate", "--data-dir", str(folder)], tmp_path))
    assert str(damaged) in line


@pytest.mark.skipif(not os.path.isdir(SHARED_IDX), reason="no IDX folder")
def test_idx_files_are_checked_against_their_checksums(tmp_path):
    folder = tmp_path / "idx"
    shutil.copytree(SHARED_IDX, folder)
    # A valid gzip file of other content: readable, but not the data set.
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataCorruptError, match=r"does not match SHA256SUMS"):
        load_split("test", data_dir=str(folder))
    assert len(load_split("train", data_dir=str(folder))) == 60000


def _tfds_copy_truncating_the_test_records(tmp_path, kept_bytes):
    """A copy of the shared MNIST TFDS folder whose test records file is cut
    after `kept_bytes`: (the folder, the records file)."""
    folder = tmp_path / "tfds"
    shutil.copytree(SHARED_TFDS, folder, ignore=shutil.ignore_patterns("fashion*"))
    record = folder / TFDS_VERSION_DIR / "mnist-test.tfrecord-00000-of-00001"
    record.write_bytes(record.read_bytes()[:kept_bytes])
    return folder, record


@pytest.mark.skipif(not os.path.isdir(SHARED_TFDS), reason="no TFDS folder")
def test_a_truncated_tfrecord_is_one_line_naming_it(tmp_path):
    folder, record = _tfds_copy_truncating_the_test_records(tmp_path, 1_000_000)
    with pytest.raises(DataCorruptError, match=r"mnist-test\.tfrecord"):
        load_split("test", data_dir=str(folder))
    line = _one_error_line(_cli(["evaluate", "--data-dir", str(folder)], tmp_path))
    assert str(record) in line


def test_a_limit_reads_the_head_of_the_split(mnist_test):
    head = load_split("test", limit=96)
    np.testing.assert_array_equal(head.images, mnist_test.images[:96])
    np.testing.assert_array_equal(head.labels, mnist_test.labels[:96])
    assert head.provenance == mnist_test.take(96).provenance
    assert len(load_split("test", limit=10_001)) == 10_000
    with pytest.raises(ValueError, match="limit=0"):
        load_split("test", limit=0)


@pytest.mark.skipif(not os.path.isdir(SHARED_TFDS), reason="no TFDS folder")
def test_a_limit_reads_only_the_records_it_uses(tmp_path):
    # About 300 of the 10,000 records survive the cut.
    folder, _ = _tfds_copy_truncating_the_test_records(tmp_path, 100_000)
    assert len(load_split("test", data_dir=str(folder), limit=50)) == 50
    with pytest.raises(DataCorruptError):
        load_split("test", data_dir=str(folder))


def test_an_empty_tfds_folder_is_one_line_without_warnings(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _one_error_line(_cli(["evaluate", "--data-dir", str(empty)], tmp_path))
    assert "MNIST not found" in line
    assert list(empty.iterdir()) == []  # nothing written into it


def test_the_source_and_its_order_are_recorded(mnist_test):
    provenance = mnist_test.provenance
    assert (provenance.source, provenance.order, provenance.split) == (
        "tfds",
        "tfds",
        "test",
    )
    assert mnist_test.take(7).provenance.examples == 7
    assert mnist_test.labels[0] == 2  # TFDS's order; the IDX file starts with a 7


@pytest.mark.skipif(not os.path.isdir(SHARED_IDX), reason="no IDX folder")
def test_the_idx_order_is_the_original_one():
    from_idx = load_split("test", data_dir=SHARED_IDX)
    assert from_idx.provenance.order == "idx"
    assert from_idx.labels[0] == 7
