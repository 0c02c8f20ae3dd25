"""The fork server of this process and :func:`grade_one`, the one way a submission is graded.

A fork server (``python -m dlgrader.job.forkserver``) has nbgrader imported and forks one
child per job (:mod:`dlgrader.job.forkserver`), with one kernel template for all of them.
This module is its client: one server per process, shared by every executing thread (so
2 workers pay nbgrader's and the template's imports once, not twice). It sends a job and
waits for the child's end under a wall-clock watchdog that kills the child's session and
kernels.

Protocol (one JSON object per line): the client first writes ``{"preload": [MODULE, ...]}``
(the kernel template's optional modules that the bundle's kernels import), then
``{"job": PATH}`` for every job; the server answers ``{"ready": true}`` once, when it
serves, then ``{"job": PATH, "pid": PID}`` when
that job's child is started and ``{"job": PATH, "status": STATUS}`` (the ``waitpid``
status) when it has ended. Answers of different jobs interleave.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dlgrader.job.prepare import materialize, read_result
from dlgrader.records import Bundle, Result, Submission

SCRATCH_VARIABLE = "DLGRADER_SCRATCH"


class ServerDiedError(RuntimeError):
    pass


class ForkServer:
    """Client side of one fork server process; any number of threads may run jobs at once."""

    def __init__(self) -> None:
        self._errors = tempfile.TemporaryFile()
        # The server's own files (its kernel template's socket and key) go here, removed
        # by close() however the server ended.
        self.scratch = tempfile.mkdtemp(prefix="dlg-server-")
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env[SCRATCH_VARIABLE] = self.scratch
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dlgrader.job.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=env,
            start_new_session=True,
        )
        self._ready = threading.Event()
        self._lock = threading.Lock()  # guards _waiting and _died
        self._send = threading.Lock()
        self._waiting: dict[str, queue.Queue] = {}
        self._died: str | None = None
        self._preload_sent = False
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    def _read_answers(self) -> None:
        """The reader thread: hand every answer to the thread waiting for its job."""
        pending = b""
        fd = self.proc.stdout.fileno()
        try:
            while chunk := os.read(fd, 65536):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    answer = json.loads(line)
                    if answer.get("ready"):
                        self._ready.set()
                        continue
                    with self._lock:
                        waiting = self._waiting.get(answer.get("job"))
                    if waiting is not None:
                        waiting.put(answer)
        finally:
            self._errors.seek(0)
            tail = self._errors.read()[-2000:].decode(errors="replace")
            with self._lock:
                self._died = f"the grading server exited: {tail}"
                everyone = list(self._waiting.values())
            self._ready.set()
            for waiting in everyone:
                waiting.put(None)

    def alive(self) -> bool:
        with self._lock:
            return self._died is None and self.proc.poll() is None

    def _next(self, answers: queue.Queue, timeout: float | None) -> dict | None:
        """This job's next answer, or None when ``timeout`` passed first."""
        try:
            answer = answers.get(timeout=timeout)
        except queue.Empty:
            return None
        if answer is None:
            raise ServerDiedError(self._died)
        return answer

    def _write(self, message: dict) -> None:
        try:
            with self._send:
                self.proc.stdin.write(json.dumps(message).encode() + b"\n")
                self.proc.stdin.flush()
        except OSError as exc:
            raise ServerDiedError(self._died or f"the grading server exited: {exc}") from exc

    def preload(self, modules: list[str] | None) -> None:
        """Tell the server (once; later calls do nothing) what its template should import."""
        with self._send:
            if self._preload_sent:
                return
            self._preload_sent = True
        self._write({"preload": modules})

    def run(
        self, jobdir: Path, limit: float, preload: list[str] | None = None
    ) -> tuple[int | None, bool, str]:
        """Run one job; returns (waitpid status, whether the watchdog fired, log tail).

        ``preload`` is sent before the first job (see :meth:`preload`).
        """
        key = str(jobdir)
        answers: queue.Queue = queue.Queue()
        with self._lock:
            if self._died:
                raise ServerDiedError(self._died)
            self._waiting[key] = answers
        try:
            self.preload(preload)
            self._ready.wait()
            self._write({"job": key})
            pid = self._next(answers, None)["pid"]
            answer = self._next(answers, limit)
            timed_out = answer is None
            if timed_out:
                _kill_job(pid, Path(jobdir))
                answer = self._next(answers, None)
        finally:
            with self._lock:
                self._waiting.pop(key, None)
        try:
            log_tail = (Path(jobdir) / "log.txt").read_text(errors="replace")[-3000:]
        except OSError:
            log_tail = ""
        return answer["status"], timed_out, log_tail

    def close(self) -> None:
        """Stop the server now: its template and any job still running die with it."""
        if self.proc.poll() is None:
            # Nothing of the server needs a clean exit (every result is in its job folder);
            # the template, job children and kernels get SIGKILL when their parent dies.
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:  # a write that the dead server never read
                pass
        self._errors.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _kill_job(pid: int, jobdir: Path) -> None:
    """Kill a grading child's session and the kernels it launched."""
    try:
        kernels = [int(x) for x in (jobdir / "k" / "pids").read_text().split()]
    except (OSError, ValueError):
        kernels = []
    for group in [pid, *kernels]:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass


_server: ForkServer | None = None
_lock = threading.Lock()
_spawn_requests: queue.Queue = queue.Queue()
_spawner: threading.Thread | None = None


def _spawn_servers() -> None:
    """The thread that starts fork servers, alive as long as the process.

    The server dies with the thread that started it (PR_SET_PDEATHSIG is per thread, see
    :func:`dlgrader.sandbox.launcher.die_with_parent`), not with the process; an executing
    thread that ends (a test's, a Dask worker's) must not take the shared server along.
    """
    while True:
        reply: queue.Queue = _spawn_requests.get()
        try:
            reply.put(ForkServer())
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asked
            reply.put(exc)


def _start_server() -> ForkServer:
    global _spawner
    if _spawner is None:
        _spawner = threading.Thread(target=_spawn_servers, name="dlgrader-spawner", daemon=True)
        _spawner.start()
    reply: queue.Queue = queue.Queue()
    _spawn_requests.put(reply)
    started = reply.get()
    if isinstance(started, BaseException):
        raise started
    return started


def server() -> ForkServer:
    """This process' fork server (started when there is none, or it died)."""
    global _server
    with _lock:
        if _server is not None and not _server.alive():
            _server.close()
            _server = None
        if _server is None:
            _server = _start_server()
        return _server


def warm_up() -> None:
    """Start the server now, so that its imports overlap with other work."""
    server()


def shutdown() -> None:
    """Stop the fork server of this process."""
    global _server
    with _lock:
        if _server is not None:
            _server.close()
            _server = None


def grade_one(bundle: Bundle, submission: Submission, base: str | None = None) -> Result:
    """Grade one submission in a fresh job folder; return the result with its files.

    Never raises for anything the submission does: a crash of the grading process or
    the watchdog shows up as ``Result.error``.
    """
    started = time.monotonic()
    jobdir = materialize(bundle, submission, base)
    try:
        status, timed_out, log_tail = server().run(jobdir, bundle.wall_seconds(), bundle.preload)
        result = None if timed_out else read_result(jobdir)
        if result is None:
            if timed_out:
                reason = (
                    f"制限時間 ({bundle.wall_seconds():.0f} 秒) を超えたため採点を打ち切りました"
                )
            else:
                reason = f"採点プロセスが異常終了しました (status {status})"
            result = Result.failed(submission.student, bundle.notebooks, reason, log_tail)
        result.wall_seconds = round(time.monotonic() - started, 3)
        result.worker = f"{socket.gethostname()}:{os.getpid()}"
        return result
    finally:
        if not os.environ.get("DLGRADER_KEEP_JOBS"):  # kept for debugging only
            shutil.rmtree(jobdir, ignore_errors=True)
