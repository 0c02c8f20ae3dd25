"""The kernel template: one process per fork server that forks a fresh kernel per request.

A grading kernel spends most of its start importing what every chapter imports (torch,
numpy, matplotlib, scikit-learn, IPython and ipykernel: about 2.4 s of CPU each time).
This process, started by the fork server (:mod:`dlgrader.job.forkserver`) and living as
long as it, imports them once, never runs a cell and never reads a submission. For each
kernel it forks a child, which is never reused:

1. the stub that jupyter_client launched (:mod:`dlgrader.sandbox.template_stub`) connects
   to the socket ``FOLDER/kernel.sock`` (FOLDER is private, 0700) and sends the kernel's
   limits, command, working folder and environment with its stdin, stdout, stderr and
   a read-only descriptor of ``FOLDER/key`` (proof that it is not a sandboxed kernel:
   Landlock keeps kernels from opening that file);
2. the template accepts only a peer of its own PID namespace (every kernel lives in a
   new one), forks, and goes back to waiting; it parses nothing itself;
3. the child checks the key and the command (this interpreter's ``-m
   ipykernel_launcher``) and that the variables read at import time are the ones the
   kernel gets, else it answers ``fallback`` and the stub runs the kernel through
   :mod:`dlgrader.sandbox.launcher` as before. Otherwise it takes the stub's
   descriptors, folder and environment, and runs :func:`dlgrader.sandbox.launcher.launch`
   with the same limits: namespaces, an init as PID 1, resource limits, capabilities
   dropped, Landlock, all before any student code. The kernel process then sets
   ``sys.path``, ``sys.argv`` and the random states as a fresh ``python -m
   ipykernel_launcher`` has them and starts ipykernel in-process. Interrupts and the
   stub's end cross the socket (see :func:`dlgrader.sandbox.launcher.launch`); the
   launcher's exit code goes back as ``exit N``.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
import signal
import socket
import struct
import sys

from dlgrader.sandbox import launcher as sandbox

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
FOLDER_VARIABLE = "DLGRADER_KERNEL_TEMPLATE"
DISABLE_VARIABLE = "DLGRADER_NO_KERNEL_TEMPLATE"
HEADROOM_MB = 512  # memory a served kernel has at least, beyond the template's own
# Imported once here; a kernel that imports them finds them loaded. Every chapter's
# kernels import these:
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "matplotlib",
    "matplotlib.pyplot",
)
# Some chapters' kernels also import these (3.9 s of CPU together); the fork server says
# which, from what the assignment's notebooks use (dlgrader.coordinator.preload), before
# the template has finished PRELOAD. Without word, all of them.
OPTIONAL = (
    "torch.utils.data",
    # torch.optim imports TorchDynamo (about 800 modules, 2 s) the first time an optimizer
    # is built: in every chapter that trains a model.
    "torch.optim",
    "torch._dynamo",
    "sklearn.datasets",
    "sklearn.model_selection",
)
# Environment variables that the preloaded modules read when they are imported: a
# kernel whose environment differs in one of them is not served from this template.
IMPORT_TIME_VARIABLES = (
    "MPLBACKEND",
    "MPLCONFIGDIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "HOME",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TORCH_HOME",
    "SCIKIT_LEARN_DATA",
)


def _served_key(env: dict) -> dict:
    return {k: env.get(k) for k in IMPORT_TIME_VARIABLES}


def _pid_namespaces_work() -> bool:
    """Whether a child can get a PID namespace of its own (the peer check needs it)."""
    pid = os.fork()
    if pid == 0:
        made = sandbox.enter_namespaces(network=False)
        os._exit(0 if made["pid_namespace"] else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _same_pid_namespace(conn: socket.socket) -> bool:
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    if pid <= 0 or uid != os.getuid():
        return False
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def serve(folder: str) -> int:
    """The template's loop: preload, then fork one kernel child per connection."""
    sandbox.die_with_parent()
    path_tail = list(sys.path[1:])  # a fresh kernel's sys.path after its first entry
    # The grader's own processes may not import rfc3987_syntax (dlgrader/__init__.py);
    # a kernel may, as a fresh interpreter can.
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets
    served = _served_key(os.environ)
    for name in PRELOAD:
        __import__(name)
    for name in _optional_modules(sys.stdin.readline()):
        __import__(name)
    # Kernels' garbage collections skip the preloaded objects: they would otherwise walk
    # (and so copy, page by page) the whole inherited heap on their first full collection.
    gc.freeze()
    if not _pid_namespaces_work():
        print("kernel template: no PID namespace can be made; not serving", file=sys.stderr)
        return 1
    key_path = os.path.join(folder, "key")
    with open(key_path, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
    info = os.stat(key_path)
    key = (info.st_dev, info.st_ino)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(folder, "kernel.sock"))
    listener.listen(16)
    print(json.dumps({"ready": True}), flush=True)
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([listener], [], [], 1.0)
        for pid in list(children):
            if os.waitpid(pid, os.WNOHANG)[0]:
                children.discard(pid)
        if not ready:
            continue
        conn, _ = listener.accept()
        if not _same_pid_namespace(conn):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                listener.close()
                code = _kernel_child(conn, key, served, path_tail)
            except BaseException:  # noqa: BLE001 - never back into the template's loop
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        conn.close()
        children.add(pid)


def _optional_modules(line: str) -> list[str]:
    """The OPTIONAL modules named by the fork server's line (a JSON list); all without one."""
    try:
        wanted = json.loads(line)
    except ValueError:
        return list(OPTIONAL)
    if not isinstance(wanted, list):
        return list(OPTIONAL)
    return [name for name in OPTIONAL if name in wanted]


def _data_mb() -> int:
    """This process' data segment (what RLIMIT_DATA counts), in MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmData:"):
                return int(line.split()[1]) // 1024
    return 0


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 4)
    while not data.endswith(b"\n"):
        more = conn.recv(1 << 16)
        if not more:
            break
        data += more
    return json.loads(data), fds


def _valid_key(fd: int, key: tuple[int, int]) -> bool:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if flags & getattr(os, "O_PATH", 0o10000000) or flags & os.O_ACCMODE != os.O_RDONLY:
        return False
    info = os.fstat(fd)
    return (info.st_dev, info.st_ino) == key


def _kernel_child(conn: socket.socket, key: tuple[int, int], served: dict, tail: list) -> int:
    """A forked child: check the request, become the confined kernel's launcher."""
    os.setsid()  # the launcher's own process group: SIGINT relayed to it reaches the kernel
    sandbox.die_with_parent()
    request, fds = _receive(conn)
    if len(fds) != 4 or not _valid_key(fds[3], key):
        return 1
    command = request["command"]
    env = request["env"]
    reason = None
    if command[1:3] != ["-m", "ipykernel_launcher"] or os.path.realpath(
        command[0]
    ) != os.path.realpath(sys.executable):
        reason = f"not this interpreter's ipykernel_launcher: {command[:3]}"
    elif _served_key({"MPLBACKEND": INLINE_BACKEND, **env}) != served:
        reason = "the kernel's environment differs from the template's"
    elif 0 < request["limits"].get("memory_mb", 0) < _data_mb() + HEADROOM_MB:
        # RLIMIT_DATA counts the preloaded modules, as it does in a kernel that imported
        # them itself; a cap meant for a kernel without them is left to an exec'd kernel.
        reason = f"memory cap below the template's {_data_mb()} MB + {HEADROOM_MB} MB"
    if reason:
        conn.sendall(f"fallback {reason}\n".encode())
        return 0
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    keep = {0, 1, 2, conn.fileno()}
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            try:
                os.close(int(name))
            except OSError:
                pass
    conn.sendall(b"started\n")
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)

    def start() -> None:
        _become_kernel(command, tail)

    code = sandbox.launch(request["limits"], command, start=start, control=conn)
    try:
        conn.sendall(f"exit {code}\n".encode())
    except OSError:
        pass
    return code


def _become_kernel(command: list[str], tail: list[str]) -> None:
    """In the confined kernel process: what ``python -m ipykernel_launcher`` would do."""
    import atexit
    import runpy
    import tempfile

    tempfile.tempdir = None  # found again from the kernel's TMPDIR
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a new interpreter
    # fork copies numpy's global RandomState and torch's default generator (seeded once,
    # in the template); the standard library's random reseeds itself after a fork.
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()  # a new interpreter's CPU generator starts from a random seed too
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    sys.path[:] = [os.getcwd(), *tail]
    sys.argv = [command[0], *command[3:]]
    sys.orig_argv = list(command)
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream at the very end
                pass


class TemplateProcess:
    """The fork server's handle on its kernel template (started at once, in the background).

    :meth:`wait_ready` puts the template's folder into ``DLGRADER_KERNEL_TEMPLATE`` for
    the grading children (and so for their kernels' stubs) once the template serves;
    a template that cannot start leaves it unset, and kernels start as without one.
    """

    def __init__(self) -> None:
        import subprocess
        import tempfile

        self.proc = None
        if os.environ.get(DISABLE_VARIABLE):  # kernels exec'd as before (benchmarks, tests)
            return
        # In the fork server's scratch folder (DLGRADER_SCRATCH), which its client removes.
        scratch = os.environ.get("DLGRADER_SCRATCH") or None
        self.folder = tempfile.mkdtemp(prefix="dlg-template-", dir=scratch)
        os.chmod(self.folder, 0o700)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dlgrader.sandbox.template", self.folder],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def preload(self, modules: list[str] | None) -> None:
        """Which OPTIONAL modules to import besides PRELOAD (None: all); once, before ready."""
        if self.proc is None or self.proc.stdin.closed:
            return
        try:
            self.proc.stdin.write(json.dumps(modules).encode() + b"\n")
            self.proc.stdin.close()
        except OSError:  # a template that already exited; wait_ready says so
            pass

    def wait_ready(self, timeout: float = 120.0) -> bool:
        if self.proc is None:
            return False
        self.preload(None)  # no-op when the fork server has said which
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line.startswith(b'{"ready": true}'):
            print("kernel template not ready; kernels start without it", file=sys.stderr)
            self.stop()
            return False
        os.environ[FOLDER_VARIABLE] = self.folder
        return True

    def stop(self) -> None:
        import shutil

        if self.proc is None:
            return
        if os.environ.get(FOLDER_VARIABLE) == self.folder:
            del os.environ[FOLDER_VARIABLE]
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
