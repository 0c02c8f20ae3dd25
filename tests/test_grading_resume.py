"""A crashed ``dlgrader grade`` resumes where it stopped and loses nothing."""

import json
import os
import signal
import subprocess
import sys
import time

from grading_fixtures.tinycourse import (
    ASSIGNMENT,
    AUTO_POINTS,
    WRONG_SQUARE,
    answered,
    dlcourse,
    make_tiny_course,
    submit_notebook,
)
from harness import cell_scores, env_with_venv

STUDENTS = [f"s{i}" for i in range(6)]


def expected(student: str) -> float:
    return AUTO_POINTS if int(student[1:]) % 2 == 0 else AUTO_POINTS - 2


def test_resume_after_the_coordinator_is_killed(tmp_path):
    course = make_tiny_course(tmp_path)
    for student in STUDENTS:
        square = None if expected(student) == AUTO_POINTS else WRONG_SQUARE
        submit_notebook(course, student, answered(course, **({"square": square} if square else {})))
    journal = course / "grading" / ASSIGNMENT / "journal.jsonl"
    crashed = subprocess.Popen(
        [sys.executable, "-m", "dlgrader", "grade", ASSIGNMENT]
        + ["--workers", "1", "--no-progress"],
        cwd=course,
        env=env_with_venv(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and crashed.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    os.killpg(crashed.pid, signal.SIGKILL)
    crashed.wait()
    before = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert 2 <= len(before) < len(STUDENTS), "the crash came too late to test a resume"

    done = dlcourse(course, "grade", ASSIGNMENT, "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(before)} 件は前回の採点結果を使います" in done.stdout
    after = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert sorted(after) == sorted(STUDENTS), "each submission is graded exactly once"
    for student in STUDENTS:
        scores = cell_scores(course, ASSIGNMENT, student)
        assert sum(s for s, _ in scores.values() if s) == expected(student), student
        leftovers = list((course / "autograded" / student).glob(f".{ASSIGNMENT}-*"))
        assert not leftovers, leftovers

    again = dlcourse(course, "grade", ASSIGNMENT, "--no-progress")
    assert f"{len(STUDENTS)} 件は前回の採点結果を使います" in again.stdout
