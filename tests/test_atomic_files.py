"""Tests of the early output check and the atomic writers."""

import os
import sys

import pytest

from egan_tf.atomic_files import OutputPathError, check_writable, write_json_atomically

# /proc takes no new files, and os.access still says yes to root there: the
# case where asking instead of trying let a grid run for an hour and then fail.
needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc is Linux's"
)


@needs_proc
@pytest.mark.parametrize(
    ("path", "is_folder"),
    [
        ("/proc/egan-grid.json", False),
        ("/proc/egan-new-folder/grid.json", False),
        ("/proc/egan-figures", True),
    ],
)
def test_a_folder_that_takes_no_files_is_refused_naming_the_path(path, is_folder):
    with pytest.raises(OutputPathError, match="Cannot write") as raised:
        check_writable(path, is_folder)
    assert path in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("relative", "is_folder"),
    [("out.json", False), ("new/deeper/out.json", False), ("figures", True)],
)
def test_a_writable_path_passes_and_nothing_is_left_behind(
    tmp_path, relative, is_folder
):
    check_writable(str(tmp_path / relative), is_folder)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_probed_inside_itself(tmp_path):
    # The probe goes inside the folder the files will go to, and goes away.
    figures = tmp_path / "figures"
    figures.mkdir()
    check_writable(str(figures), is_folder=True)
    assert list(figures.iterdir()) == []


def test_a_file_where_a_folder_is_wanted_is_refused(tmp_path):
    blocker = tmp_path / "figures"
    blocker.write_text("")
    with pytest.raises(OutputPathError, match="it is a file, not a folder"):
        check_writable(str(blocker), is_folder=True)


def test_a_folder_where_a_file_is_wanted_is_refused(tmp_path):
    with pytest.raises(OutputPathError, match="it is a folder"):
        check_writable(str(tmp_path))


def test_write_json_atomically_leaves_only_the_target(tmp_path):
    target = tmp_path / "sub" / "record.json"
    write_json_atomically(str(target), {"accuracy": 0.5})
    assert target.read_text() == '{\n  "accuracy": 0.5\n}\n'
    assert os.listdir(target.parent) == ["record.json"]
