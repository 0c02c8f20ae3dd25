"""The fork server: one process per executing thread that forks a job child per submission.

Importing nbgrader's autograde machinery costs about 2.5 s of CPU, as much as grading a
small notebook; this process pays it once and forks a child for every job
(:func:`dlgrader.job.child.run_job`), in its own session, with its output in
``JOB/log.txt``, so that the watchdog can kill the child with everything it started. A
plain subprocess (not multiprocessing) keeps this usable inside Dask workers, whose
daemonic processes may not have multiprocessing children. The client and the protocol:
:mod:`dlgrader.executors.pool`. Started as ``python -m dlgrader.job.forkserver``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def serve() -> None:
    """The server's loop."""
    from dlgrader.sandbox.template import TemplateProcess

    # The kernel template imports the kernels' modules while this process imports nbgrader.
    template = TemplateProcess()
    import nbgrader.apps.autogradeapp  # noqa: F401 - preloaded for the children
    import nbgrader.converters  # noqa: F401

    import dlgrader.job.repair  # noqa: F401
    import dlgrader.plugins.autograde  # noqa: F401
    from dlgrader.job import child
    from dlgrader.sandbox.launcher import die_with_parent

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
                code = child.run_job(job)
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


if __name__ == "__main__":
    serve()
