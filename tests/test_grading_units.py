"""Fast checks of dlgrader grade's pieces that need no kernel: repair, lock, CLI."""

import asyncio
import copy
import json
import select
import time
from queue import Empty

import nbformat
import pytest
import zmq
import zmq.asyncio
from grading_fixtures.tinycourse import make_tiny_course, source_notebook
from jupyter_client.session import Session

from dlgrader.cli import build_parser, main
from dlgrader.coordinator.course import CourseError
from dlgrader.coordinator.lock import RunLock
from dlgrader.job.repair import prepare, read_notebook, restore_test_cells
from dlgrader.plugins.kernel_manager import SlicedWaitChannel


def released():
    nb = source_notebook()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "raise NotImplementedError()"
    return nb


def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "空のファイル"), (b"{not json", "JSON"), (b"[1, 2]", "ノートブックではありません")],
)
def test_unreadable_notebooks_get_a_reason(tmp_path, data, reason):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(data)
    nb, _, why = read_notebook(path)
    assert nb is None and reason in why


def test_well_formed_submission_is_left_byte_for_byte(tmp_path):
    path, release = tmp_path / "nb.ipynb", tmp_path / "release.ipynb"
    nbformat.write(released(), release)
    nbformat.write(released(), path)
    before = path.read_bytes()
    repair = prepare(path, release)
    assert repair.gradable and repair.notes == []
    assert path.read_bytes() == before


def test_deleted_test_cells_come_back_in_place():
    release = released()
    nb = copy.deepcopy(release)
    nb.cells = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"
    ]
    restored, reset, edited = restore_test_cells(nb, release)
    assert restored == ["test_square"] and not reset and not edited
    assert ids(nb) == ids(release)


def test_tampered_test_metadata_is_reset():
    release = released()
    nb = copy.deepcopy(release)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_add")
    test.metadata["nbgrader"]["points"] = 99
    test.metadata["nbgrader"]["grade"] = False
    test.source = "pass"
    restored, reset, _ = restore_test_cells(nb, release)
    assert reset == ["test_add"] and not restored
    assert test.metadata["nbgrader"]["points"] == 1 and test.metadata["nbgrader"]["grade"]


def test_nbformat3_is_converted(tmp_path):
    path, release = tmp_path / "nb.ipynb", tmp_path / "release.ipynb"
    nbformat.write(released(), release)
    path.write_text(nbformat.writes(nbformat.convert(released(), 3), 3))
    repair = prepare(path, release)
    assert repair.gradable and "nbformat 3" in repair.notes[0]
    assert json.loads(path.read_text())["nbformat"] == 4


def test_second_lock_is_refused(tmp_path):
    with RunLock(tmp_path, "a"):
        with pytest.raises(CourseError, match="実行中"):
            RunLock(tmp_path, "b").acquire()
    with RunLock(tmp_path, "c"):
        pass


def test_deleted_test_cell_goes_after_the_free_cell_before_it():
    """As in nbgrader's example course: answer, a free check cell, then the test."""
    release = released()
    position = ids(release).index("test_square")
    free = nbformat.v4.new_code_cell("square(4)")
    free["id"] = "free-check"
    release.cells.insert(position, free)
    nb = copy.deepcopy(release)
    nb.cells = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"
    ]
    restored, _, _ = restore_test_cells(nb, release)
    assert restored == ["test_square"]
    assert [c.get("id") for c in nb.cells] == [c.get("id") for c in release.cells]


def test_outside_a_course_nothing_is_created(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "01_tensors", "--no-progress"]) == 2
    assert "コースのルート" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_mistyped_assignment_lists_the_known_ones(tmp_path, capsys, monkeypatch):
    course = make_tiny_course(tmp_path)
    monkeypatch.chdir(course)
    assert main(["grade", "tinny", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "tinny" in err and "tiny" in err.split("あるのは", 1)[1]
    assert not (course / "grading").exists()


def test_cli_help_and_errors(tmp_path, capsys, monkeypatch):
    help_text = build_parser().format_help()
    assert "grade" in help_text and "report" in help_text
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    assert "--scheduler" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "nothing", "--no-progress"]) == 2
    assert "コースのルート" in capsys.readouterr().err


def test_notebook_with_huge_stored_outputs_is_graded_without_them(tmp_path):
    from grading_fixtures.tinycourse import ASSIGNMENT, make_tiny_course, submit_notebook

    from dlgrader.coordinator import course as course_module

    course_root = make_tiny_course(tmp_path)
    nb = released()
    slim = len(nbformat.writes(nb).encode())
    code = next(cell for cell in nb.cells if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="x" * 5000)]
    submit_notebook(course_root, "fat", nb)
    course = course_module.Course.load(course_root, None)
    cap = course_module.MAX_SUBMITTED_FILE_BYTES
    try:
        course_module.MAX_SUBMITTED_FILE_BYTES = slim + 1000
        submission = course.submission(ASSIGNMENT, "fat")
    finally:
        course_module.MAX_SUBMITTED_FILE_BYTES = cap
    kept = json.loads(submission.files[f"{ASSIGNMENT}.ipynb"])
    assert all(cell.get("outputs", []) == [] for cell in kept["cells"])
    assert ["".join(c["source"]) for c in kept["cells"]] == [c.source for c in nb.cells]
    assert "出力を消して採点しました" in submission.notes[0]


@pytest.fixture
def channel_pair(tmp_path):
    """A SlicedWaitChannel on one end of a ZeroMQ PAIR, and a plain socket at the other."""
    context = zmq.asyncio.Context()
    ours = context.socket(zmq.PAIR)
    peer = zmq.Context.shadow(context.underlying).socket(zmq.PAIR)
    ours.bind(f"ipc://{tmp_path}/pair")
    peer.connect(f"ipc://{tmp_path}/pair")
    session = Session(key=b"")
    yield SlicedWaitChannel(ours, session), peer, session
    peer.close(linger=0)
    ours.close(linger=0)
    context.term()


def test_sliced_channel_reads_a_message_whose_wakeup_was_lost(channel_pair):
    channel, peer, session = channel_pair
    ours = channel.socket

    async def lost_wakeup() -> float:
        waiting = asyncio.ensure_future(channel.get_msg(timeout=3.0))
        await asyncio.sleep(0.1)  # the poll is registered and idle
        started = time.monotonic()
        session.send(peer, "execute_reply", {"status": "ok"})
        # Another handle on the socket reads EVENTS before the event loop runs again:
        # that drains the edge-triggered descriptor the loop waits on, as happened
        # when the last widget cell of a notebook waited the whole cell timeout.
        other_handle = zmq.Socket.shadow(ours.underlying)
        while not other_handle.get(zmq.EVENTS) & zmq.POLLIN:
            time.sleep(0.001)  # no await: the loop must not see the wake-up
        readable, _, _ = select.select([ours.get(zmq.FD)], [], [], 0)
        assert not readable, "the wake-up should be gone"
        msg = await waiting
        assert msg["msg_type"] == "execute_reply"
        return time.monotonic() - started

    # One 3-s poll would only see the message when it times out; slices find it early.
    assert asyncio.run(lost_wakeup()) < 1.0


def test_sliced_channel_keeps_the_timeout(channel_pair):
    channel, _, _ = channel_pair
    started = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.7))
    assert 0.6 < time.monotonic() - started < 2.0


def test_grading_command_loads_neither_torch_nor_rfc3987_grammars():
    # torch (1.2 s) is for the notebooks, not the grader; rfc3987_syntax (1.2 s) would be
    # loaded by jsonschema with nbformat in the command and in every fork server.
    import subprocess
    import sys

    code = (
        "import sys, dlgrader.cli, dlgrader.job.forkserver, nbformat;"
        "assert 'torch' not in sys.modules, 'torch';"
        "assert sys.modules.get('rfc3987_syntax') is None, 'rfc3987_syntax'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
