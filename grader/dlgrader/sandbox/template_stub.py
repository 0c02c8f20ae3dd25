"""What jupyter_client launches for a grading kernel when a kernel template is up.

``python -S -E template_stub.py --limits FILE -- python -m ipykernel_launcher -f CONN``
takes the arguments of :mod:`sandbox` (standard library only, run as a script). It asks
the kernel template (:mod:`dlgrader.sandbox.template`, folder in the environment
variable ``DLGRADER_KERNEL_TEMPLATE``) for a fresh confined kernel, passes it this
process' stdin, stdout and stderr, relays SIGINT, SIGTERM, SIGHUP and SIGQUIT to it,
and exits with the kernel launcher's exit code; its own end (SIGKILL) kills the kernel.
So jupyter_client's provisioner, interrupts, the ``pids`` file and the watchdog see one
process as before. When the template is missing, dead or declines, the stub says why
on stderr (the job's log) and runs :func:`sandbox.main` itself, as without a template.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

if __package__:
    from dlgrader.sandbox import launcher as sandbox
else:  # run as a script with -S: this folder is on sys.path
    import launcher as sandbox

FOLDER_VARIABLE = "DLGRADER_KERNEL_TEMPLATE"


def _through_template(folder: str, limits: dict, command: list[str]) -> int | None:
    """The launcher's exit code, or None when the template did not start the kernel."""
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(os.path.join(folder, "kernel.sock"))
        key = os.open(os.path.join(folder, "key"), os.O_RDONLY | os.O_CLOEXEC)
        request = {
            "limits": limits,
            "command": command,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
        }
        data = json.dumps(request).encode() + b"\n"
        sent = socket.send_fds(conn, [data], [0, 1, 2, key])
        os.close(key)
        conn.sendall(data[sent:])
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    except OSError as exc:
        print(f"kernel template unavailable ({exc}); starting the kernel directly", file=sys.stderr)
        return None
    line = answer.decode(errors="replace").strip()
    if line != "started":
        reason = line or "no answer"
        print(f"kernel template declined ({reason}); starting directly", file=sys.stderr)
        return None

    def relay(signum, _frame):
        try:
            conn.sendall(f"{signum}\n".encode())
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, relay)
    rest = b""
    while True:
        try:
            chunk = conn.recv(4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        rest += chunk
    for word in rest.decode(errors="replace").split("\n"):
        if word.startswith("exit ") and word[5:].strip().lstrip("-").isdigit():
            return int(word[5:])
    return 137  # the launcher was killed (the template ended with its fork server)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    folder = os.environ.pop(FOLDER_VARIABLE, "")
    if folder and argv[:1] == ["--limits"] and "--" in argv:
        # A stub whose grader died takes the kernel with it (its socket closes).
        sandbox.die_with_parent()
        with open(argv[1], encoding="utf-8") as handle:
            limits = json.load(handle)
        code = _through_template(folder, limits, argv[argv.index("--") + 1 :])
        if code is not None:
            return code
    return sandbox.main(argv)


if __name__ == "__main__":
    sys.exit(main())
