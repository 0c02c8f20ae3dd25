"""Confine one student's Jupyter kernel: the launcher that wraps the kernel command.

``python -S sandbox.py --limits FILE -- python -m ipykernel_launcher -f ...`` (run as a
script, so that it imports nothing but the standard library) is what
:class:`dlgrader.plugins.kernel_manager.SandboxKernelManager` launches instead of the plain
kernel command. Before it starts the kernel it

1. moves it into new **network and PID namespaces** (``unshare(2)``; as root directly,
   otherwise inside a new user namespace when the system allows it). In the new network
   namespace there is no interface but its own loopback, so student code reaches no
   other host and no service of the grading machine; the kernel talks to the grader
   over Unix sockets (ZeroMQ ``ipc``), which work across network namespaces. A small
   init (PID 1 of the new PID namespace) runs the kernel and, when the kernel ends,
   takes every process the kernel spawned with it;
2. sets **resource limits** on the kernel process: memory (``RLIMIT_DATA``, the
   private writable memory, which is what a Python allocation uses: an over-allocation
   raises ``MemoryError`` in the cell), CPU time (``RLIMIT_CPU``: the kernel receives
   ``SIGXCPU`` and dies), the size of any file it writes (``RLIMIT_FSIZE``) and no core
   dumps. The number of processes and threads is capped too, so that a fork bomb gets
   ``BlockingIOError`` instead of exhausting the machine's PIDs: by a cgroup of its own
   with ``pids.max`` (root, cgroup v1 ``pids`` hierarchy) or else by ``RLIMIT_NPROC``
   (which the kernel never applies to root). Then the kernel drops every capability
   (bounding, ambient, effective, permitted and inheritable sets), so that student code
   run by root cannot mount, chown or trace the grader;
3. restricts **file-system access** with Landlock (Linux >= 5.13, no privileges needed):
   the kernel may create, change and delete files only beneath the ``writable``
   directories (its working folder and a private home), plus writes to
   ``/dev/null``-like devices; when ``readable`` is given it may also *read* only beneath
   those and the ``readable`` ones (the Python installation, the system's libraries and
   fonts): the course root, the solutions, any gradebook, other students' submissions and
   other jobs' folders are out of reach. With Landlock ABI >= 4 TCP
   ``bind``/``connect`` are denied as well (the fallback when no network namespace can be
   made), and with ABI >= 6 the kernel can no longer signal processes outside its
   sandbox (the grader, other students' kernels).

What could be applied is written as JSON to ``--report`` so the grader can say how each
submission was isolated. The launcher stays as the kernel's parent: it forwards
SIGTERM, ignores SIGINT (an interrupt reaches the kernel through the process group),
and exits with the kernel's status (``128 + signal`` when the kernel was killed).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import stat
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
LAST_CAPABILITY = 63  # drops past the kernel's last capability fail with EINVAL, ignored

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on all
# architectures that have them.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

# Devices a program may legitimately write to.
WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent (thread) ends."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel, 0 when Landlock is unavailable."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(int(version), 0)


def restrict_files(writable: list[str], block_tcp: bool, readable: list[str] | None = None) -> dict:
    """Apply a Landlock ruleset to this process (and everything it executes later).

    Writes are allowed beneath ``writable`` only. With ``readable`` (a list, possibly
    empty) reads are confined too: to ``writable`` and ``readable``. Returns what was
    applied: ``{"abi": N, "tcp_blocked": bool, "signals_scoped": bool,
    "reads_confined": bool}``; raises OSError when Landlock is unavailable.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available")
    dir_rights = (
        FS_WRITE_FILE
        | FS_REMOVE_DIR
        | FS_REMOVE_FILE
        | FS_MAKE_CHAR
        | FS_MAKE_DIR
        | FS_MAKE_REG
        | FS_MAKE_SOCK
        | FS_MAKE_FIFO
        | FS_MAKE_BLOCK
        | FS_MAKE_SYM
    )
    file_rights = FS_WRITE_FILE
    if abi >= 2:
        dir_rights |= FS_REFER
    if abi >= 3:
        dir_rights |= FS_TRUNCATE
        file_rights |= FS_TRUNCATE
    read_dir, read_file = 0, 0
    if readable is not None:
        read_dir, read_file = FS_READ_FILE | FS_READ_DIR, FS_READ_FILE
    attr = _RulesetAttr(handled_access_fs=dir_rights | read_dir)
    size = 8
    tcp_blocked = signals_scoped = False
    if abi >= 4:
        size = 16
        if block_tcp:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            tcp_blocked = True
    if abi >= 6:
        size = 24
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        signals_scoped = True
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(path, dir_rights | read_dir, file_rights | read_file) for path in writable]
        rules += [(path, 0, file_rights | read_file) for path in WRITABLE_DEVICES]
        rules += [(path, read_dir, read_file) for path in readable or []]
        for path, on_dir, on_file in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rights = on_dir if stat.S_ISDIR(os.fstat(fd).st_mode) else on_file
                if not rights:
                    continue
                rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
                done = _libc.syscall(
                    SYS_LANDLOCK_ADD_RULE,
                    ruleset,
                    LANDLOCK_RULE_PATH_BENEATH,
                    ctypes.byref(rule),
                    0,
                )
                if done < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return {
        "abi": abi,
        "tcp_blocked": tcp_blocked,
        "signals_scoped": signals_scoped,
        "reads_confined": readable is not None,
    }


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def enter_namespaces(network: bool) -> dict:
    """New PID (and, when ``network``, network) namespaces for the next child.

    Tries directly (needs CAP_SYS_ADMIN, e.g. root), then inside a new user namespace
    that maps the current user onto itself. Returns what was made.
    """
    flags = CLONE_NEWPID | (CLONE_NEWNET if network else 0)
    try:
        _unshare(flags)
        return {"namespaces": "direct", "network_namespace": network, "pid_namespace": True}
    except OSError as first:
        uid, gid = os.getuid(), os.getgid()
        try:
            _unshare(CLONE_NEWUSER | flags)
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
            return {"namespaces": "user", "network_namespace": network, "pid_namespace": True}
        except OSError as second:
            return {
                "namespaces": None,
                "network_namespace": False,
                "pid_namespace": False,
                "namespace_error": f"{first.strerror}; user namespace: {second.strerror}",
            }


def loopback_up() -> bool:
    """Bring up ``lo`` in a fresh network namespace (local TCP inside the sandbox only)."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sh14x", b"lo", 0)
            flags = struct.unpack("16sh14x", fcntl.ioctl(sock, siocgifflags, request))[1]
            fcntl.ioctl(sock, siocsifflags, struct.pack("16sh14x", b"lo", flags | iff_up))
        return True
    except OSError:
        return False


def drop_capabilities() -> None:
    """Give up every capability, for this process and everything it executes later."""
    for cap in range(LAST_CAPABILITY + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(version=LINUX_CAPABILITY_VERSION_3, pid=0)
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def count_tasks(uid: int) -> int:
    """Threads of ``uid``: what RLIMIT_NPROC counts."""
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return count


PIDS_CGROUP = "/sys/fs/cgroup/pids"  # cgroup v1; v2 hosts fall back to RLIMIT_NPROC


def make_pids_cgroup(max_tasks: int) -> str | None:
    """A new pids cgroup allowing ``max_tasks`` tasks, or None where none can be made.

    Empty cgroups left by launchers that were killed are removed on the way.
    """
    if max_tasks <= 0 or os.geteuid() != 0 or not os.access(PIDS_CGROUP, os.W_OK):
        return None
    for name in os.listdir(PIDS_CGROUP):
        owner = name.removeprefix("dlcourse-")
        if owner.isdigit() and not _alive(int(owner)):
            try:
                os.rmdir(f"{PIDS_CGROUP}/{name}")  # fails while tasks are inside
            except OSError:
                pass
    path = f"{PIDS_CGROUP}/dlcourse-{os.getpid()}"
    try:
        os.makedirs(path, exist_ok=True)
        _write(f"{path}/pids.max", str(max_tasks))
    except OSError:
        return None
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_cgroup(path: str) -> None:
    import time

    for _ in range(50):  # the namespace's last tasks may still be exiting
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def set_limits(memory_mb: int, cpu_seconds: int, file_mb: int, processes: int = 0) -> None:
    """Resource limits of the calling process (inherited by what it executes).

    ``processes`` is the number of processes and threads the program may add to those
    its user runs already (RLIMIT_NPROC counts every task of the real user ID).
    """
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    if cpu_seconds > 0:
        # The soft limit sends SIGXCPU (which kills); the hard one, a second later, SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if file_mb > 0:
        cap = file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    if processes > 0:
        cap = count_tasks(os.getuid()) + processes
        resource.setrlimit(resource.RLIMIT_NPROC, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv or argv[:1] != ["--limits"]:
        print("usage: python -S sandbox.py --limits FILE -- CMD...", file=sys.stderr)
        return 2
    split = argv.index("--")
    with open(argv[1], encoding="utf-8") as handle:
        limits = json.load(handle)
    return launch(limits, argv[split + 1 :])


def launch(limits: dict, command: list[str], start=None, control=None) -> int:
    """Confine and run ``command``; returns the launcher's exit code.

    ``start`` (the kernel template, see :mod:`dlgrader.sandbox.template`) is called in
    the confined kernel process instead of exec'ing ``command``; it never returns.
    ``control`` is then a socket to the process that jupyter_client launched: each line
    it sends is a signal number to relay, and its end kills the sandbox.
    """
    report: dict = {"landlock": None, "template": start is not None}
    parent = os.getpid()
    # A launcher whose grader died takes the kernel with it (see the child below).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    block_network = limits.get("block_network", True)
    report.update(enter_namespaces(block_network))
    if report["network_namespace"]:
        # Isolated already: local TCP (ipykernel's subprocess-output pipe) may work inside.
        report["loopback"] = loopback_up()
    block_tcp = block_network and not report["network_namespace"]
    abi = landlock_abi() if limits.get("landlock", True) else 0
    processes = int(limits.get("processes", 0))
    cgroup = make_pids_cgroup(processes)

    # The kernel must not start before the report is written and the limits are known;
    # the kernel's real wait status comes back through `status_*` (see _init).
    ready_read, ready_write = os.pipe()
    status_read, status_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(ready_write)
        os.close(status_read)
        if control is not None:
            os.close(control.fileno())  # the stub's socket stays with the launcher
        in_cgroup = os.read(ready_read, 1) == b"c"  # else cap by RLIMIT_NPROC
        os.close(ready_read)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() not in (parent, 0):  # the launcher died meanwhile
            os._exit(137)
        try:
            set_limits(
                limits.get("memory_mb", 0),
                limits.get("cpu_seconds", 0),
                limits.get("file_mb", 0),
                0 if in_cgroup else processes,
            )
            drop_capabilities()
            if abi:
                restrict_files(
                    limits.get("writable", []), block_tcp=block_tcp, readable=limits.get("readable")
                )
            if report["pid_namespace"]:
                _init(command, status_write, start)
            _run(command, start)
        except BaseException as exc:  # noqa: BLE001 - report anything, never run unconfined
            print(f"sandbox: cannot start the kernel confined: {exc}", file=sys.stderr)
        os._exit(126)

    os.close(ready_read)
    os.close(status_write)
    report["processes"] = None
    if cgroup:
        try:
            _write(f"{cgroup}/cgroup.procs", str(pid))
            report["processes"] = {"max": processes, "by": "cgroup"}
        except OSError:
            remove_cgroup(cgroup)
            cgroup = None
    if not cgroup and processes > 0 and os.getuid() != 0:
        report["processes"] = {"max": processes, "by": "RLIMIT_NPROC"}
    if abi:
        report["landlock"] = {
            "abi": abi,
            "tcp_blocked": abi >= 4 and block_tcp,
            "signals_scoped": abi >= 6,
            "reads_confined": limits.get("readable") is not None,
        }
    if limits.get("report"):
        tmp = limits["report"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(report, handle)
        os.replace(tmp, limits["report"])

    def forward(signum, _frame):
        try:
            # PID 1 of a namespace ignores SIGTERM without a handler: kill it outright.
            os.kill(pid, signal.SIGKILL if signum == signal.SIGTERM else signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    os.write(ready_write, b"c" if cgroup else b"r")
    os.close(ready_write)
    if control is not None:
        _relay(control, pid, forward)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    if cgroup:
        remove_cgroup(cgroup)
    cpu = usage.ru_utime + usage.ru_stime
    relayed = os.read(status_read, 100).split()
    if len(relayed) == 2:  # the kernel's own status, relayed by the namespace's init
        status, cpu = int(relayed[0]), float(relayed[1])
    if limits.get("exit_report"):
        with open(limits["exit_report"], "w", encoding="utf-8") as handle:
            json.dump({"status": status, "cpu": cpu}, handle)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _relay(control, pid: int, forward) -> None:
    """Until the sandbox's first process ends: relay the signals that ``control`` names
    (SIGINT to the process group, as an interrupt reaches an exec'd kernel); when
    ``control`` closes (its process was killed), kill the sandbox."""
    import select

    pidfd = os.pidfd_open(pid)
    pending = b""
    try:
        while True:
            ready, _, _ = select.select([pidfd, control], [], [])
            if pidfd in ready:
                return
            try:
                data = control.recv(256)
            except OSError:
                data = b""
            if not data:
                forward(signal.SIGTERM, None)  # a SIGKILL to the namespace's init
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                signum = int(line) if line.strip().isdigit() else 0
                if signum == signal.SIGINT:
                    os.killpg(os.getpgrp(), signal.SIGINT)  # this launcher ignores it
                elif signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                    forward(signum, None)
    finally:
        os.close(pidfd)


def _run(command: list[str], start) -> None:
    """Become the kernel: exec ``command``, or call ``start`` and exit with its status."""
    if start is None:
        os.execvp(command[0], command)
    code = 1
    try:
        start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like an interpreter's last error
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _init(command: list[str], status_fd: int, start=None) -> None:
    """PID 1 of the new PID namespace: run the kernel as PID 2, reap, relay its status.

    The kernel is not PID 1 itself because PID 1 cannot be killed by signals sent from
    inside its namespace: ``os.kill(os.getpid(), SIGKILL)`` must kill a kernel as it does
    outside the sandbox. When this init exits, the kernel took everything else with it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel
    kernel = os.fork()
    if kernel == 0:
        os.close(status_fd)  # also close-on-exec; the kernel must not see it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # ipykernel would take PID 1 (this init) as a sign that the grader died; the
        # PDEATHSIG chain ends the kernel when the grader dies anyway.
        os.environ["JPY_PARENT_PID"] = "1"  # "1": no parent poller in ipykernel
        _run(command, start)
    while True:
        try:
            pid, status, usage = os.wait4(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if pid == kernel:
            cpu = usage.ru_utime + usage.ru_stime
            os.write(status_fd, f"{status} {cpu}".encode())
            os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
