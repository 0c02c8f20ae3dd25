"""dlgrader grade on a class of broken and hostile submissions, with real kernels.

One module-scoped run grades the tiny assignment (tests/grading_fixtures/tinycourse.py)
for two well-behaved students and one student per robustness case of the issue. While
that run is going, a second ``dlgrader grade`` must be refused. Every case must end with
a grade and a reason, the well-behaved students must get their exact marks, and no file
outside the submission may change.
"""

import csv
import http.server
import json
import threading
import time
from pathlib import Path

import nbformat
import pytest
from grading_fixtures.tinycourse import (
    ASSIGNMENT,
    AUTO_POINTS,
    TOTAL_POINTS,
    WRONG_SQUARE,
    answered,
    dlcourse,
    make_tiny_course,
    submit_bytes,
    submit_notebook,
    tree_digest,
)
from harness import cell_scores, env_with_venv

from dlgrader.sandbox import launcher as sandbox

STUBBORN = (
    "while True:\n"
    "    try:\n"
    "        while True:\n"
    "            pass\n"
    "    except KeyboardInterrupt:\n"
    "        pass\n"
)
MEMORY_BOMB = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))\n"
FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
FLOOD = "for _ in range(1000):\n    print('y' * 100_000)\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("robust")
    course = make_tiny_course(tmp)
    outside = tmp / "outside.txt"
    outside.write_text("untouched")
    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    submit_notebook(course, "good", answered(course))
    submit_notebook(course, "partial", answered(course, square=WRONG_SQUARE))
    submit_bytes(course, "invalid_json", f"{ASSIGNMENT}.ipynb", b'{"cells": [,,]')
    submit_bytes(course, "empty_file", f"{ASSIGNMENT}.ipynb", b"")
    submit_notebook(course, "wrong_name", answered(course), name=f"{ASSIGNMENT}-Copy1.ipynb")
    submit_bytes(course, "missing", "notes.txt", "ノートブックを忘れました".encode())
    v3 = nbformat.convert(answered(course), 3)
    submit_bytes(course, "nbformat3", f"{ASSIGNMENT}.ipynb", nbformat.writes(v3, 3).encode())
    deleted = answered(course)
    deleted.cells = [
        c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"
    ]
    submit_notebook(course, "deleted_test", deleted)
    edited = answered(course, square=WRONG_SQUARE)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_square":
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 100
    submit_notebook(course, "edited_test", edited)
    submit_notebook(course, "infinite_loop", answered(course, square="while True:\n    pass\n"))
    submit_notebook(course, "stubborn_loop", answered(course, square=STUBBORN))
    submit_notebook(course, "memory_bomb", answered(course, square=MEMORY_BOMB))
    submit_notebook(course, "sys_exit", answered(course, square="import sys\nsys.exit(1)\n"))
    submit_notebook(course, "os_exit", answered(course, square="import os\nos._exit(3)\n"))
    kill = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    submit_notebook(course, "killed", answered(course, square=kill))
    submit_notebook(course, "fork_bomb", answered(course, square=FORK_BOMB))
    foreign = answered(course)
    foreign.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    submit_notebook(course, "foreign_kernel", foreign)
    linked = submit_bytes(course, "symlink", "README.txt", b"see the notebook")
    solution = course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    (linked / f"{ASSIGNMENT}.ipynb").symlink_to(solution)
    submit_notebook(course, "big_output", answered(course, greet=FLOOD + answered_greet()))
    targets = [
        "../../../gradebook.db",
        "../../../nbgrader_config.py",
        "../../good/tiny/tiny.ipynb",
        str(course / "gradebook.db"),
        str(course / "nbgrader_config.py"),
        str(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        str(course / "submitted" / "good" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        str(outside),
    ]
    writer = (
        "import os\n"
        f"for target in {targets!r}:\n"
        "    try:\n"
        "        with open(target, 'w') as handle:\n"
        "            handle.write('hacked')\n"
        "    except OSError:\n"
        "        pass\n"
        f"open({str(tmp / 'new-file.txt')!r}, 'w').write('hacked')\n"
    )
    square = "def square(x):\n    return x * x\n"
    submit_notebook(course, "writes_outside", answered(course, square=square + writer))
    network = (
        f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=3)\n"
    )
    submit_notebook(course, "network", answered(course, square=network))

    before = tree_digest(tmp, skip=("course/autograded", "course/grading", "course/gradebook.db"))
    first = dlcourse_background(course)
    refused = None
    deadline = time.monotonic() + 120
    lock = course / "grading" / ".holder"
    while time.monotonic() < deadline and first.poll() is None:
        if lock.exists() and lock.read_text().strip():
            refused = dlcourse(course, "grade", ASSIGNMENT, "--no-progress")
            break
        time.sleep(0.2)
    stdout, stderr = first.communicate(timeout=900)
    server.shutdown()
    after = tree_digest(tmp, skip=("course/autograded", "course/grading", "course/gradebook.db"))
    return {
        "course": course,
        "first": (first.returncode, stdout, stderr),
        "refused": refused,
        "before": before,
        "after": after,
        "seen": seen,
    }


def answered_greet():
    return 'def greet(name):\n    return f"こんにちは、{name}"\n'


def dlcourse_background(course):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "dlgrader", "grade", ASSIGNMENT]
        + ["--workers", "2", "--timeout", "4", "--memory", "512", "--no-progress"],
        cwd=course,
        env=env_with_venv(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def entries(graded):
    journal = graded["course"] / "grading" / ASSIGNMENT / "journal.jsonl"
    return {e["student"]: e for e in map(json.loads, journal.read_text().splitlines())}


def score(graded, student):
    return sum(s for s, _ in cell_scores(graded["course"], ASSIGNMENT, student).values() if s)


def reasons(graded, student):
    entry = entries(graded)[student]
    return " | ".join(entry["reasons"] + entry.get("repairs", []))


def failures(graded, student):
    return " | ".join(entries(graded)[student]["reasons"])


def test_run_completes_and_grades_everyone(graded):
    code, stdout, stderr = graded["first"]
    assert code == 0, stderr[-3000:]
    students = sorted(p.name for p in (graded["course"] / "submitted").iterdir())
    assert sorted(entries(graded)) == students
    rows = list(csv.DictReader(open(graded["course"] / "grading" / ASSIGNMENT / "grades.csv")))
    assert sorted(row["student_id"] for row in rows) == students
    assert all(float(row["max_score"]) == TOTAL_POINTS for row in rows)
    assert "平均点" in stdout and "問題のあった提出" in stdout


def test_second_run_is_refused_while_one_is_running(graded):
    refused = graded["refused"]
    assert refused is not None, "the first run ended before a second one could be tried"
    assert refused.returncode == 2
    assert "実行中" in refused.stderr


def test_well_behaved_students_get_exact_marks(graded):
    assert score(graded, "good") == AUTO_POINTS
    assert score(graded, "partial") == AUTO_POINTS - 2
    assert reasons(graded, "good") == ""


@pytest.mark.parametrize("student", ["wrong_name", "nbformat3", "deleted_test", "edited_test"])
def test_repairs_are_not_failures(graded, student):
    """Put-right submissions are counted apart, with the detail in repairs.csv."""
    assert failures(graded, student) == "", failures(graded, student)
    repairs = (graded["course"] / "grading" / ASSIGNMENT / "repairs.csv").read_text()
    assert student in repairs
    code, stdout, _ = graded["first"]
    assert "修復してから採点した提出" in stdout and "repairs.csv" in stdout


@pytest.mark.parametrize(
    ("student", "points", "reason"),
    [
        ("invalid_json", 0, "JSON"),
        ("empty_file", 0, "空のファイル"),
        ("missing", 0, "提出されていません"),
        ("wrong_name", AUTO_POINTS, "名が違う"),
        ("nbformat3", AUTO_POINTS, "nbformat 3"),
        ("deleted_test", AUTO_POINTS, "復元"),
        ("edited_test", AUTO_POINTS - 2, "元に戻しました"),
        ("infinite_loop", AUTO_POINTS - 2, "時間切れ"),
        ("stubborn_loop", 1, "応答しない"),
        ("writes_outside", AUTO_POINTS, "拒否"),
        ("memory_bomb", AUTO_POINTS - 2, "メモリ"),
        ("sys_exit", AUTO_POINTS - 2, "sys.exit"),
        ("os_exit", 1, "終了コード 3"),
        ("killed", 1, "SIGKILL"),
        ("big_output", AUTO_POINTS, "出力が多すぎる"),
        ("foreign_kernel", AUTO_POINTS, ""),
        ("symlink", 0, "リンク"),
        ("network", AUTO_POINTS - 2, "ネットワーク"),
    ],
)
def test_each_case_gets_a_grade_and_a_reason(graded, student, points, reason):
    assert score(graded, student) == points, reasons(graded, student)
    assert reason in reasons(graded, student)


def test_fork_bomb_is_contained(graded):
    # The capped forks end the cell with an error or a timeout, and the forked copies of
    # the kernel may leave it unresponsive (then later cells fail, as for stubborn_loop).
    scores = cell_scores(graded["course"], ASSIGNMENT, "fork_bomb")
    assert scores["test_add"] == (1, 1)
    assert scores["test_square"][0] == 0
    cgroups = Path(sandbox.PIDS_CGROUP).glob("dlcourse-*")
    left = [c.name for c in cgroups if not sandbox._alive(int(c.name.removeprefix("dlcourse-")))]
    assert len(left) <= 1, f"cgroups left behind by launchers that ended: {left}"


def test_cells_after_a_dead_kernel_fail(graded):
    scores = cell_scores(graded["course"], ASSIGNMENT, "os_exit")
    assert scores["test_add"] == (1, 1)
    assert scores["test_square"][0] == 0 and scores["test_greet"][0] == 0


def test_big_output_is_cut(graded):
    path = graded["course"] / "autograded" / "big_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 5 * 1024 * 1024


def test_nothing_outside_the_submission_changed(graded):
    before, after = graded["before"], graded["after"]
    changed = sorted(k for k in before if after.get(k) != before[k])
    added = sorted(set(after) - set(before))
    assert not changed and not added, f"changed: {changed}, added: {added}"
    assert not graded["seen"], "student code reached a server on the grading machine"
    good = graded["course"] / "autograded" / "good" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "hacked" not in good.read_text()


def test_feedback_and_export_still_work(graded):
    course = graded["course"]
    from harness import nbgrader

    nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course)
    html = (course / "feedback" / "partial" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "square(3) は 9 のはずですが 6 でした" in html
    nbgrader(["export"], course)
    exported = list(csv.DictReader(open(course / "grades.csv")))
    assert {row["student_id"] for row in exported} >= {"good", "partial"}
