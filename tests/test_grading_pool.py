"""The fork server of dlgrader.executors.pool: one per process, any number of jobs at once.

Real fork server, real job children and sandboxed kernels (the tiny assignment of
tests/grading_fixtures/tinycourse.py); no mocks. The wall-clock watchdog and a server
that dies mid-job are only reachable here (a run of ``dlgrader grade`` rarely hits them).
"""

import os
import signal
import sys
import threading
import time

import psutil
import pytest
from grading_fixtures.tinycourse import ASSIGNMENT, answered, make_tiny_course, submit_notebook
from harness import gone

from dlgrader.coordinator.course import Course
from dlgrader.coordinator.run import Options
from dlgrader.executors import pool
from dlgrader.job.prepare import materialize

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux sandbox")

SLEEPER = "import time\ntime.sleep(60)\n\ndef add(a, b):\n    return a + b\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_tiny_course(tmp_path_factory.mktemp("pool"))
    for student in ("first", "second"):
        submit_notebook(root, student, answered(root))
    submit_notebook(root, "sleeper", answered(root, add=SLEEPER))
    loaded = Course.load(root, None)
    limits = Options(ASSIGNMENT).limits(loaded.default_timeout())
    bundle = loaded.make_bundle(ASSIGNMENT, limits, "WARN")
    yield root, loaded, bundle
    pool.shutdown()


def servers() -> list[int]:
    """The PIDs of this process' fork servers (its only Python children here)."""
    return [child.pid for child in psutil.Process().children() if child.name() == "python"]


def test_two_jobs_at_once_share_one_server(course):
    _, loaded, bundle = course
    pool.shutdown()
    spans, results = {}, {}

    def grade(student):
        started = time.monotonic()
        results[student] = pool.grade_one(bundle, loaded.submission(ASSIGNMENT, student))
        spans[student] = (started, time.monotonic())

    threads = [threading.Thread(target=grade, args=(s,)) for s in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert servers() == [pool.server().proc.pid]
    for student in ("first", "second"):
        result = results[student]
        assert not result.error, result.error
        assert result.notebooks[ASSIGNMENT].state == "graded", result
    (a_start, a_end), (b_start, b_end) = spans.values()
    assert a_start < b_end and b_start < a_end  # they ran at the same time


def test_watchdog_kills_one_job_and_the_other_finishes(course):
    _, loaded, bundle = course
    server = pool.server()
    slow = materialize(bundle, loaded.submission(ASSIGNMENT, "sleeper"))
    fast_result = {}

    def fast():
        fast_result["r"] = pool.grade_one(bundle, loaded.submission(ASSIGNMENT, "first"))

    other = threading.Thread(target=fast)
    other.start()
    started = time.monotonic()
    status, timed_out, _ = server.run(slow, limit=3.0)
    waited = time.monotonic() - started
    other.join()
    assert timed_out and 3.0 <= waited < 20, waited
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    kernels = [int(pid) for pid in (slow / "k" / "pids").read_text().split()]
    assert kernels and all(gone(pid) for pid in kernels)
    assert fast_result["r"].notebooks[ASSIGNMENT].state == "graded"
    assert pool.server() is server and server.alive()


def test_a_dead_server_fails_its_jobs_and_is_replaced(course):
    _, loaded, bundle = course
    server = pool.server()
    slow = materialize(bundle, loaded.submission(ASSIGNMENT, "sleeper"))
    errors = []

    def run():
        try:
            server.run(slow, limit=120.0)
        except pool.ServerDiedError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(2.0)
    os.kill(server.proc.pid, signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive() and len(errors) == 1
    assert not server.alive()
    replacement = pool.server()
    assert replacement is not server
    result = pool.grade_one(bundle, loaded.submission(ASSIGNMENT, "second"))
    assert result.notebooks[ASSIGNMENT].state == "graded", result
