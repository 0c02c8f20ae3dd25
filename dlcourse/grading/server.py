"""A fork server: one process that has nbgrader imported and forks a child per submission.

Importing nbgrader's autograde machinery costs about 2.5 s of CPU, as much as grading a
small notebook; paying it once per worker instead of once per submission is what keeps
``dlcourse grade --workers 1`` as fast as plain ``nbgrader autograde``. Each child runs
:func:`dlcourse.grading.worker.run_job` in its own session, with its output in
``JOB/log.txt``, so that the watchdog can kill the child with everything it started.

Protocol (one JSON object per line): the client writes ``{"job": PATH}``, the server
answers ``{"pid": PID}`` when the child is started and ``{"status": STATUS}`` (the
``waitpid`` status) when it has ended.

A plain subprocess (not multiprocessing) keeps this usable inside Dask workers, whose
daemonic processes may not have multiprocessing children.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path


def serve() -> None:
    """The server's loop (``python -m dlcourse.grading.server``)."""
    from dlcourse.grading.template import TemplateProcess

    # The kernel template imports the kernels' modules while this process imports nbgrader.
    template = TemplateProcess()
    import nbgrader.apps.autogradeapp  # noqa: F401 - preloaded for the children
    import nbgrader.converters  # noqa: F401

    import dlcourse.grading.kernel  # noqa: F401
    import dlcourse.grading.repair  # noqa: F401
    from dlcourse.grading import worker
    from dlcourse.grading.sandbox import die_with_parent

    # A coordinator that dies (or is killed) takes its server, the grading child and the
    # kernel with it: each of them gets SIGKILL when its parent goes.
    die_with_parent()
    template.wait_ready()
    requests = sys.stdin.buffer
    answers = sys.stdout.buffer
    answers.write(b'{"ready": true}\n')
    answers.flush()
    for line in requests:
        job = json.loads(line)["job"]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setsid()
                die_with_parent()
                log = os.open(os.path.join(job, "log.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                code = worker.run_job(job)
            except BaseException:  # noqa: BLE001 - the child must always exit here
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        answers.write(json.dumps({"pid": pid}).encode() + b"\n")
        answers.flush()
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        answers.write(json.dumps({"status": status}).encode() + b"\n")
        answers.flush()
    template.stop()


class ServerDiedError(RuntimeError):
    pass


class ForkServer:
    """Client side of one fork server process (one job at a time)."""

    def __init__(self) -> None:
        self._errors = tempfile.TemporaryFile()
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
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
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._errors.close()


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


_pool: list[ForkServer] = []
_lock = threading.Lock()
_all: list[ForkServer] = []


def acquire() -> ForkServer:
    """An idle fork server of this process (started when none is idle)."""
    with _lock:
        while _pool:
            server = _pool.pop()
            if server.alive():
                return server
            server.close()
        server = ForkServer()
        _all.append(server)
        return server


def release(server: ForkServer) -> None:
    with _lock:
        if server.alive():
            _pool.append(server)


def warm_up(count: int) -> None:
    """Start ``count`` servers now, so that their imports overlap with other work."""
    servers = [acquire() for _ in range(count)]
    for server in servers:
        release(server)


def shutdown() -> None:
    """Stop every fork server of this process."""
    with _lock:
        for server in _all:
            server.close()
        _all.clear()
        _pool.clear()


def _drop_script_folder() -> None:
    """Run as a script, this file's folder comes first on sys.path and would shadow
    top-level modules (``dlcourse/grading/kernel.py`` is not ``kernel``)."""
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0]).resolve() == here:
        del sys.path[0]


if __name__ == "__main__":
    _drop_script_folder()
    from dlcourse.grading.server import serve as _serve

    _serve()
