"""dlgrader grade against real services: a PostgreSQL gradebook and a Dask cluster.

PostgreSQL comes from Debian's package (``.ci/run`` installs it; when it is missing and
we are root, the fixture installs it with apt-get). The server runs on loopback in a
temporary data folder. The Dask cluster is a real ``dask scheduler`` and two ``dask
worker`` processes on loopback. On CI (``CI`` set) a missing service is a failure; on a
developer machine that cannot install it, the tests are skipped with the reason.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from grading_fixtures.tinycourse import (
    ASSIGNMENT,
    AUTO_POINTS,
    WRONG_SQUARE,
    answered,
    dlcourse,
    make_tiny_course,
    submit_notebook,
)
from harness import env_with_venv, nbgrader

BIN = Path(sys.executable).parent


def unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run this test)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing listens on port {port}")


# ---------------------------------------------------------------------------- PostgreSQL
def postgres_bin() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    return None


def install_postgres() -> Path | None:
    if postgres_bin() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "postgresql"], env=env, capture_output=True, timeout=900
        )
    return postgres_bin()


@pytest.fixture(scope="module")
def postgres():
    pg = install_postgres()
    if pg is None:
        unavailable("PostgreSQL (Debian package postgresql) is not installed")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        [*prefix, str(pg / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    options = f"-p {port} -h 127.0.0.1 -k {data}"
    subprocess.run(
        [*prefix, str(pg / "pg_ctl"), "-D", str(data / "db"), "-o", options]
        + ["-l", str(data / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    try:
        subprocess.run(
            [str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "grades"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/grades"
    finally:
        subprocess.run(
            [*prefix, str(pg / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(data, ignore_errors=True)


def test_postgres_gradebook(postgres, tmp_path):
    from nbgrader.api import Gradebook

    course = make_tiny_course(tmp_path)
    nbgrader(["generate_assignment", ASSIGNMENT, "--force", f"--db={postgres}"], course)
    submit_notebook(course, "good", answered(course))
    submit_notebook(course, "partial", answered(course, square=WRONG_SQUARE))
    submit_notebook(course, "crash", answered(course, square="import os\nos._exit(1)\n"))
    done = dlcourse(course, "grade", ASSIGNMENT, "--db", postgres, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    with Gradebook(postgres) as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert scores == {"good": AUTO_POINTS, "partial": AUTO_POINTS - 2, "crash": 1.0}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert not gb.find_assignment(ASSIGNMENT).submissions, "the SQLite gradebook was written"
    report = dlcourse(course, "report", ASSIGNMENT, "--db", postgres)
    assert report.returncode == 0, report.stderr
    assert "test_square" in (course / "grading" / ASSIGNMENT / "report.html").read_text()


# ---------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    if not (BIN / "dask").exists():
        unavailable("the dask command is not installed (requirements.txt: distributed)")
    port = free_port()
    logs = tmp_path_factory.mktemp("dask")
    env = env_with_venv()
    processes = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
            + ["--no-dashboard"],
            stdout=open(logs / "scheduler.log", "w"),
            stderr=subprocess.STDOUT,
            env=env,
        )
    ]
    try:
        wait_for_port(port)
        address = f"tcp://127.0.0.1:{port}"
        for index in range(2):
            processes.append(
                subprocess.Popen(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1"]
                    + ["--no-dashboard", "--host", "127.0.0.1", "--name", f"w{index}"],
                    stdout=open(logs / f"worker{index}.log", "w"),
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_grading_on_a_dask_cluster(dask_cluster, tmp_path):
    from harness import cell_scores

    course = make_tiny_course(tmp_path)
    students = {
        "good": answered(course),
        "partial": answered(course, square=WRONG_SQUARE),
        "crash": answered(course, square="import os\nos._exit(1)\n"),
        "good2": answered(course),
    }
    for student, nb in students.items():
        submit_notebook(course, student, nb)
    done = dlcourse(course, "grade", ASSIGNMENT, "--scheduler", dask_cluster, "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    expected = {"good": 4.0, "partial": 2.0, "crash": 1.0, "good2": 4.0}
    for student, points in expected.items():
        scores = cell_scores(course, ASSIGNMENT, student)
        assert sum(s for s, _ in scores.values() if s) == points, student
    journal = course / "grading" / ASSIGNMENT / "journal.jsonl"
    workers = {json.loads(line)["worker"] for line in journal.read_text().splitlines()}
    assert len(workers) == 2, f"expected both Dask workers to grade, got {workers}"
    assert (course / "autograded" / "good" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
