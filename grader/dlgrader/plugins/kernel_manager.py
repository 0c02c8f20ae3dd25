"""The nbgrader plugin that starts a student's kernel in the sandbox.

:class:`SandboxKernelManager` is nbgrader's ``Execute.kernel_manager_class``: it gives the
kernel a private home and profile (with the output cap and the test guard of
:mod:`dlgrader.sandbox.kernel_guard` as start-up files), talks to it over Unix sockets, and
launches it through :mod:`dlgrader.sandbox.launcher` (namespaces, resource limits,
Landlock). :class:`SlicedWaitClient` works around lost ZeroMQ wake-ups and waits for a
starting kernel without jupyter_client's idle pauses.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Type, Unicode, default

from dlgrader.plugins import private_api

# Runs in the kernel at start-up (an IPython start-up file in the kernel's private
# profile): caps what one cell may print through sys.stdout/sys.stderr, so that a flood
# of output is dropped where it is made instead of crossing ZeroMQ and nbclient (100 MB
# take 10 s or more there). Output under the cap passes through unchanged.
OUTPUT_CAP_STARTUP = """\
def _dlcourse_cap_output(limit):
    import sys

    from IPython import get_ipython

    state = {"used": 0, "noted": False}

    def reset(*_args):
        state["used"] = 0
        state["noted"] = False

    def capped(write):
        def capped_write(text):
            used = state["used"]
            state["used"] = used + len(text)
            if used + len(text) <= limit:
                return write(text)
            if used < limit:
                write(text[: limit - used])
            if not state["noted"]:
                state["noted"] = True
                write("\\n... %s ...\\n")
            return len(text)

        return capped_write

    get_ipython().events.register("pre_run_cell", reset)
    for stream in (sys.stdout, sys.stderr):
        stream.write = capped(stream.write)


_dlcourse_cap_output(%d)
del _dlcourse_cap_output
"""
CUT_MARK = "出力が多すぎるため、以降の出力を省略しました"


class SlicedWaitChannel(AsyncZMQSocketChannel):
    """A channel that waits for a message in short polls instead of one long one.

    pyzmq's asyncio poll relies on the edge-triggered file descriptor of the ZeroMQ
    socket; here it sometimes misses the wake-up, and a reply that has already arrived
    stays unread until the poll times out (seen on 4 of about 36 notebooks: the last
    cell then waited the whole cell timeout while the kernel was idle, and the socket
    reported the message as ready). Each short poll ends with pyzmq's non-blocking
    check of the socket, so a stranded message is read within one slice.
    """

    slice_seconds = 0.2

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = self.slice_seconds
            if deadline is not None:
                step = min(step, max(0.0, deadline - time.monotonic()))
            try:
                return await super().get_msg(timeout=step)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedWaitClient(AsyncKernelClient):
    """The kernel client used for grading: shell, IOPub and control waits are sliced."""

    shell_channel_class = Type(SlicedWaitChannel)
    iopub_channel_class = Type(SlicedWaitChannel)
    control_channel_class = Type(SlicedWaitChannel)
    iopub_seconds = 0.5  # how long a kernel_info request's "idle" may take on IOPub

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answers on the shell channel and IOPub is connected.

        jupyter_client's own wait, after the kernel_info reply, waits up to 0.2 s for any
        IOPub message and then reads IOPub until it has been quiet for 0.2 s: about 0.4 s
        of every kernel start spent waiting for nothing. This one takes IOPub messages only
        until the "idle" status of its own kernel_info request, which proves the
        subscription (no output of the first cell can be lost), and sends a new request
        when that status does not come, as jupyter_client does.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await _first(self.shell_channel, 1.0, _answers, request)
            if reply is not None and await _first(
                self.iopub_channel, self.iopub_seconds, _idle_after, request
            ):
                private_api.handle_kernel_info_reply(self, reply)
                return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


def _answers(msg: dict, request: str) -> bool:
    return msg.get("parent_header", {}).get("msg_id") == request


def _idle_after(msg: dict, request: str) -> bool:
    state = msg.get("content", {}).get("execution_state")
    return _answers(msg, request) and msg.get("msg_type") == "status" and state == "idle"


async def _first(channel, seconds: float, wanted, request: str) -> dict | None:
    """The first message on ``channel`` for which ``wanted(msg, request)`` holds, in time."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except Empty:
            return None
        if wanted(msg, request):
            return msg
    return None


# What a kernel may read besides its own folders: the system's libraries, tools and
# fonts, /proc, and the Python installation (see :func:`readable_paths`).
SYSTEM_READABLE = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/sys",
    "/dev",
    # The kernel's own /proc/self (threadpoolctl reads /proc/self/maps) cannot be named by
    # a rule (it resolves to the launcher), so /proc is readable: other processes' memory,
    # environment and files stay closed (Landlock denies ptrace-mode access outside the
    # sandbox, and magic links resolve to paths no rule allows); their command lines do not.
    "/proc",
)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_paths(protected: list[str]) -> list[str]:
    """Folders a grading kernel may read: the system's and Python's own files.

    The interpreter's prefixes and its import path (site-packages), the dlcourse
    package (editable installs live in the course repository), and matplotlib's
    configuration and font cache. A candidate that contains one of ``protected``
    (the job folder, the course root) is left out, so that no rule can open them.
    """
    import dlcourse

    home = Path(os.path.expanduser("~"))
    candidates = [
        *SYSTEM_READABLE,
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *[entry for entry in sys.path if entry],
        str(Path(dlcourse.__file__).parent),
        os.environ.get("MPLCONFIGDIR") or str(home / ".config" / "matplotlib"),
        str(Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"),
    ]
    guarded = [Path(os.path.realpath(path)) for path in protected if path]
    kept: list[str] = []
    for candidate in candidates:
        path = Path(os.path.realpath(candidate))
        if not path.exists() or any(_is_within(g, path) for g in guarded):
            continue
        if str(path) not in kept:
            kept.append(str(path))
    return kept


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs inside the sandbox launcher."""

    work_dir = Unicode(help="Private folder: sockets, connection file, the kernel's home").tag(
        config=True
    )
    limits = Dict(help="memory_mb, cpu_seconds, file_mb, block_network, landlock").tag(config=True)
    writable = List(Unicode(), help="Extra folders the kernel may write to").tag(config=True)
    protected = List(
        Unicode(), help="Folders the kernel must not read (the job folder, the course root)"
    ).tag(config=True)
    guard = Bool(True, help="Install the test guard (kernel_guard.py) in the kernel").tag(
        config=True
    )
    launches = Integer(0)

    @default("transport")
    def _transport_default(self):
        return "ipc"

    @default("client_factory")
    def _client_factory_default(self):
        return SlicedWaitClient

    @default("ip")
    def _ip_default(self):
        return os.path.join(self.work_dir, "ipc")

    @default("connection_file")
    def _connection_file_default(self):
        return os.path.join(self.work_dir, "kernel.json")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        self.launches += 1
        work = Path(self.work_dir)
        home = work / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        profile = home / ".ipython" / "profile_default"
        startup = profile / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        # Input history in memory only: a history.sqlite in the kernel's home would hold
        # the hidden tests' sources for later cells to read.
        (profile / "ipython_config.py").write_text(
            'c.HistoryManager.hist_file = ":memory:"\n', encoding="utf-8"
        )
        cap = int(self.limits.get("max_cell_output_bytes", 0))
        if cap:
            (startup / "00-dlcourse-output-cap.py").write_text(
                OUTPUT_CAP_STARTUP % (CUT_MARK, cap), encoding="utf-8"
            )
        if self.guard:
            guard = (Path(__file__).parent.parent / "sandbox" / "kernel_guard.py").read_text(
                encoding="utf-8"
            )
            (startup / "01-dlcourse-guard.py").write_text(guard, encoding="utf-8")
        cwd = private_api.launch_cwd(self) or os.getcwd()
        limits = {
            **self.limits,
            "writable": [str(work), str(cwd), *self.writable],
            "readable": readable_paths([*self.protected, str(work.parent)]),
            "report": str(work / "sandbox.json"),
            "exit_report": str(work / f"exit-{self.launches}.json"),
        }
        (work / "limits.json").write_text(json.dumps(limits), encoding="utf-8")
        # With a kernel template up (see template.py), a stub asks it for the kernel.
        stub = os.environ.get("DLGRADER_KERNEL_TEMPLATE")
        launcher = str(
            Path(__file__).parent.parent
            / "sandbox"
            / ("template_stub.py" if stub else "launcher.py")
        )
        return [
            sys.executable,
            "-S",
            "-E",
            launcher,
            "--limits",
            str(work / "limits.json"),
            "--",
            *cmd,
        ]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        env = dict(kw.pop("env", None) or os.environ)
        home = Path(self.work_dir) / "home"
        env.update(
            {
                "TMPDIR": str(home / "tmp"),
                "IPYTHONDIR": str(home / ".ipython"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        kw["env"] = env
        await super()._async_launch_kernel(kernel_cmd, **kw)
        pid = getattr(self.provisioner, "pid", None)
        if pid:
            with open(os.path.join(self.work_dir, "pids"), "a", encoding="utf-8") as handle:
                handle.write(f"{pid}\n")

    _launch_kernel = _async_launch_kernel

    def exit_info(self) -> dict:
        """What the sandbox launcher recorded about the last kernel's end, if anything."""
        path = Path(self.work_dir) / f"exit-{self.launches}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
