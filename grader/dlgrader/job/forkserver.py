"""The fork server: one process per grading process that forks a job child per submission.

Importing nbgrader's autograde machinery costs about 2.5 s of CPU, as much as grading a
small notebook; this process pays it once and forks a child for every job
(:func:`dlgrader.job.child.run_job`), in its own session, with its output in
``JOB/log.txt``, so that the watchdog can kill the child with everything it started. It
runs any number of jobs at once (one per executing thread of its client), and so has
one kernel template for all of them. A plain subprocess (not multiprocessing) keeps this
usable inside Dask workers, whose daemonic processes may not have multiprocessing
children. The client and the protocol: :mod:`dlgrader.executors.pool`. Started as
``python -m dlgrader.job.forkserver``.
"""

from __future__ import annotations

import json
import os
import select
import sys
import traceback

REAP_SECONDS = 0.05  # how often children are reaped where pidfd_open is missing


def _answer(message: dict) -> None:
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.buffer.flush()


def _start_job(job: str, inherited: list[int]) -> int:
    """Fork the child that grades ``job``; returns its PID."""
    from dlgrader.job import child
    from dlgrader.sandbox.launcher import die_with_parent

    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        die_with_parent()
        for fd in inherited:  # the other jobs' process handles
            os.close(fd)
        log = os.open(os.path.join(job, "log.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        code = child.run_job(job)
    except BaseException:  # noqa: BLE001 - the child must always exit here
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reaped(pid: int, block: bool) -> int | None:
    """The waitpid status of ``pid`` once it has ended, else None."""
    while True:
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except InterruptedError:
            continue
        return status if done else None


def _warm_up_children() -> None:
    """Fill the caches every child would otherwise fill anew, once, here."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager  # the integrity scan's

    TransformerManager().transform_cell("x = 1\n")
    # nbformat compiles its schema into a validator on first use (0.1 s each); nbgrader
    # validates with both of these.
    for relaxed in (False, True):
        nbformat.validator.get_validator(
            nbformat.v4.nbformat, nbformat.v4.nbformat_minor, relax_add_props=relaxed
        )


def serve() -> None:
    """The server's loop: a job line in starts a child; its end is answered when it comes."""
    from dlgrader.sandbox.template import TemplateProcess

    # The kernel template imports the kernels' modules while this process imports nbgrader.
    template = TemplateProcess()
    import nbgrader.apps.autogradeapp  # noqa: F401 - preloaded for the children
    import nbgrader.converters  # noqa: F401

    import dlgrader.job.child  # noqa: F401
    import dlgrader.job.repair  # noqa: F401
    import dlgrader.plugins.autograde  # noqa: F401
    from dlgrader.sandbox.launcher import die_with_parent

    _warm_up_children()

    # A coordinator that dies (or is killed) takes its server, the grading children and
    # their kernels with it: each of them gets SIGKILL when its parent goes.
    die_with_parent()
    # The client's first line says which optional modules the kernels will import (from
    # the bundle); the template is still importing the others meanwhile.
    pending = b""
    while b"\n" not in pending and (chunk := os.read(0, 65536)):
        pending += chunk
    first, _, rest = pending.partition(b"\n")
    try:
        preload = json.loads(first).get("preload")
    except (ValueError, AttributeError):
        preload, rest = None, pending  # not a preload line: the template imports them all
    template.preload(preload)
    pending = rest
    template.wait_ready()
    _answer({"ready": True})
    running: dict[int, tuple[str, int | None]] = {}  # pid -> (job, pidfd or None)
    reading = True
    while reading or running or b"\n" in pending:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            job = json.loads(line).get("job")
            if not job:
                continue
            handles = [fd for _, fd in running.values() if fd is not None]
            pid = _start_job(job, handles)
            try:
                handle = os.pidfd_open(pid)
            except (AttributeError, OSError):  # Linux before 5.3: reaped by polling
                handle = None
            running[pid] = (job, handle)
            _answer({"job": job, "pid": pid})
        handles = [fd for _, fd in running.values() if fd is not None]
        polling = any(fd is None for _, fd in running.values())
        watched = [*handles, *([0] if reading else [])]
        if not watched and not polling:
            break
        ready, _, _ = select.select(watched, [], [], REAP_SECONDS if polling else None)
        if 0 in ready:
            chunk = os.read(0, 65536)
            reading = bool(chunk)
            pending += chunk
        for pid, (job, handle) in list(running.items()):
            if handle is not None and handle not in ready:
                continue
            status = _reaped(pid, block=handle is not None)
            if status is None:
                continue
            if handle is not None:
                os.close(handle)
            del running[pid]
            _answer({"job": job, "status": status})
    template.stop()


if __name__ == "__main__":
    serve()
