"""Fork servers of this process and :func:`grade_one`, the one way a submission is graded.

A fork server (``python -m dlgrader.job.forkserver``) has nbgrader imported and forks one
child per job (:mod:`dlgrader.job.forkserver`). This module is its client: it starts
servers, keeps idle ones in a pool (one per executing thread), sends a job and waits for
the child's end under a wall-clock watchdog that kills the child's session and kernels.

Protocol (one JSON object per line): the client writes ``{"job": PATH}``, the server
answers ``{"pid": PID}`` when the child is started and ``{"status": STATUS}`` (the
``waitpid`` status) when it has ended.
"""

from __future__ import annotations

import json
import os
import select
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
    """Client side of one fork server process (one job at a time)."""

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
        self._buffer = b""
        self._ready = False

    def _read_line(self, timeout: float | None) -> dict | None:
        """The next answer, or None when ``timeout`` passed first."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self._errors.seek(0)
                tail = self._errors.read()[-2000:].decode(errors="replace")
                raise ServerDiedError(f"the grading server exited: {tail}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, jobdir: Path, limit: float) -> tuple[int | None, bool, str]:
        """Run one job; returns (waitpid status, whether the watchdog fired, log tail)."""
        if not self._ready:
            self._read_line(None)
            self._ready = True
        self.proc.stdin.write(json.dumps({"job": str(jobdir)}).encode() + b"\n")
        self.proc.stdin.flush()
        pid = self._read_line(None)["pid"]
        answer = self._read_line(limit)
        timed_out = answer is None
        if timed_out:
            _kill_job(pid, Path(jobdir))
            answer = self._read_line(None)
        try:
            log_tail = (Path(jobdir) / "log.txt").read_text(errors="replace")[-3000:]
        except OSError:
            log_tail = ""
        return answer["status"], timed_out, log_tail

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                # A server that never ran a job has nothing to finish (it may still be
                # importing, and would read the end of its input only after that).
                self.proc.wait(timeout=5 if self._ready else 0.2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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


_idle: list[ForkServer] = []
_lock = threading.Lock()
_started: list[ForkServer] = []


def acquire() -> ForkServer:
    """An idle fork server of this process (started when none is idle)."""
    with _lock:
        while _idle:
            server = _idle.pop()
            if server.alive():
                return server
            server.close()
        server = ForkServer()
        _started.append(server)
        return server


def release(server: ForkServer) -> None:
    with _lock:
        if server.alive():
            _idle.append(server)


def warm_up(count: int) -> None:
    """Start ``count`` servers now, so that their imports overlap with other work."""
    servers = [acquire() for _ in range(count)]
    for server in servers:
        release(server)


def shutdown() -> None:
    """Stop every fork server of this process."""
    with _lock:
        for server in _started:
            server.close()
        _started.clear()
        _idle.clear()


def grade_one(bundle: Bundle, submission: Submission, base: str | None = None) -> Result:
    """Grade one submission in a fresh job folder; return the result with its files.

    Never raises for anything the submission does: a crash of the grading process or
    the watchdog shows up as ``Result.error``.
    """
    started = time.monotonic()
    jobdir = materialize(bundle, submission, base)
    try:
        server = acquire()
        try:
            status, timed_out, log_tail = server.run(jobdir, bundle.wall_seconds())
        finally:
            release(server)
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
