"""The kernel side of isolated grading: a confined kernel manager and a guarded executor.

Both plug into nbgrader's own ``Autograde`` converter through its configuration
(``Execute.kernel_manager_class`` and ``Autograde.autograde_preprocessors``), so a
well-behaved submission is executed and scored exactly as ``nbgrader autograde`` does.
They only change what happens when a submission misbehaves:

* :class:`SandboxKernelManager` starts the kernel through :mod:`dlcourse.grading.sandbox`
  (namespaces, resource limits, Landlock) and talks to it over Unix sockets.
* :class:`GuardedExecute` is nbgrader's ``Execute`` preprocessor with four guards: a
  cell whose output grows beyond a cap is cut (the kernel keeps running); a cell that
  timed out and whose kernel then ignores the interrupt ends the run; a kernel that dies
  (``exit()``, ``os._exit``, a signal, the CPU-time cap) ends the run; and when the run
  ends early, every graded test cell that did not run gets an error output, because
  nbgrader would otherwise count a test cell without outputs as passed.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Float, Integer, List, Type, Unicode, default

from dlcourse.grading.integrity import TAMPER_LABEL

ABORT_ENAME = "GradingStopped"
TIMEOUT_ENAME = "CellTimeoutError"
# Errors in student code that the summary should explain (the sandbox caused most).
NOTEWORTHY = {
    "MemoryError": "メモリの上限に達しました",
    "SystemExit": "sys.exit() が呼ばれました",
    "PermissionError": "書き込みなどが拒否されました (サンドボックス)",
    "ConnectionRefusedError": "ネットワークは使えません",
    "URLError": "ネットワークは使えません",
    "gaierror": "ネットワークは使えません",
    "OSError": "OS のエラー (ネットワーク・ファイルの制限の可能性)",
}


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
# A test cell whose run was interfered with: the label in the summary and grades.csv,
# and the error output that takes the cell's points.
TAMPER_ENAME = "GradingIntegrityError"
TAMPER_MESSAGE = "このテストは書かれたとおりに実行されなかったため、点を与えませんでした"
UNRESPONSIVE = "時間切れのあと、割り込んでもカーネルが応答しないため停止しました"


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
        cap = int(self.limits.get("max_cell_output", 0))
        if cap:
            (startup / "00-dlcourse-output-cap.py").write_text(
                OUTPUT_CAP_STARTUP % (CUT_MARK, cap), encoding="utf-8"
            )
        if self.guard:
            guard = Path(__file__).with_name("kernel_guard.py").read_text(encoding="utf-8")
            (startup / "01-dlcourse-guard.py").write_text(guard, encoding="utf-8")
        cwd = (self._launch_args or {}).get("cwd") or os.getcwd()
        limits = {
            **self.limits,
            "writable": [str(work), str(cwd), *self.writable],
            "readable": readable_paths([*self.protected, str(work.parent)]),
            "report": str(work / "sandbox.json"),
            "exit_report": str(work / f"exit-{self.launches}.json"),
        }
        (work / "limits.json").write_text(json.dumps(limits), encoding="utf-8")
        # With a kernel template up (see template.py), a stub asks it for the kernel.
        stub = os.environ.get("DLCOURSE_KERNEL_TEMPLATE")
        launcher = str(Path(__file__).with_name("template_stub.py" if stub else "sandbox.py"))
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


def describe_exit(info: dict, cpu_limit: float) -> str:
    """A Japanese reason for a kernel that died, from the launcher's exit record."""
    status = info.get("status")
    if status is None:
        return "カーネルが停止しました (kernel died)"
    cpu = info.get("cpu", 0.0)
    if cpu_limit and cpu >= cpu_limit - 0.5:
        return f"CPU 時間の上限 ({cpu_limit:.0f} 秒) を超えたためカーネルを停止しました"
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        name = signal.Signals(signum).name if signum in signal.valid_signals() else str(signum)
        return f"カーネルがシグナル {name} で強制終了しました (kernel killed)"
    code = os.WEXITSTATUS(status)
    return f"カーネルが終了しました (終了コード {code}: exit() / sys.exit() / os._exit())"


def error_output(ename: str, message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[message])


class GuardedExecute(Execute):
    """nbgrader's Execute with output caps and a clean stop when the kernel is lost."""

    max_cell_output = Integer(
        2 * 1024 * 1024, help="Bytes of output kept per cell; the rest is dropped"
    ).tag(config=True)
    probe_seconds = Float(10.0, help="How long a timed-out kernel has to answer again").tag(
        config=True
    )
    cpu_limit = Float(0.0, help="The kernel's CPU-time cap, to explain a kernel death").tag(
        config=True
    )
    guard = Bool(
        True, help="Re-arm the kernel's test guard before each test cell, check it after"
    ).tag(config=True)
    guard_seconds = Float(10.0, help="How long the guard has to answer").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self.problems = []
        self.timings = {"kernel_start": None, "cells": [], "guard": 0.0}
        self._stopped = None
        self._cell_bytes: dict[int, int] = {}
        self._cut: set[int] = set()
        self._t0 = time.monotonic()
        self._baseline_taken = False
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            if resources is not None:
                report = resources.setdefault("dlcourse", {})
                report["problems"] = list(self.problems)
                report["timings"] = self.timings
        return nb, resources

    # -- output cap ----------------------------------------------------------------
    @staticmethod
    def _size(msg) -> int:
        content = msg.get("content", {})
        if "text" in content:
            return len(content["text"])
        if "data" in content:
            return sum(len(str(value)) for value in content["data"].values())
        if "traceback" in content:
            return sum(len(line) for line in content["traceback"])
        return 0

    def output(self, outs, msg, display_id, cell_index):
        used = self._cell_bytes.get(cell_index, 0) + self._size(msg)
        self._cell_bytes[cell_index] = used
        if used > self.max_cell_output and msg["msg_type"] != "error":
            if cell_index not in self._cut:
                self._cut.add(cell_index)
                limit = self.max_cell_output / 1024 / 1024
                note = f"\n... 出力が {limit:.0f} MB を超えたため、以降の出力を省略しました ...\n"
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=note))
                self.problems.append(f"{self._label(cell_index)}: 出力が多すぎるため省略しました")
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- kernel loss -----------------------------------------------------------------
    def _label(self, index: int) -> str:
        """A cell as the instructor knows it: its grade_id, else its position."""
        try:
            cell = self.nb.cells[index]
        except (AttributeError, IndexError):
            return f"セル {index}"
        return cell.metadata.get("nbgrader", {}).get("grade_id") or f"セル {index}"

    def _stop(self, reason: str) -> None:
        self._stopped = reason
        self.problems.append(reason)

    def _mark_not_run(self, cell) -> None:
        if cell.cell_type == "code" and nbgrader_utils.is_grade(cell):
            cell.outputs = [
                error_output(ABORT_ENAME, f"このセルは実行されませんでした: {self._stopped}")
            ]

    async def _responsive(self, seconds: float) -> bool:
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=remaining)
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _kill_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass

    def _kernel_gone_reason(self) -> str:
        info = self.km.exit_info() if hasattr(self.km, "exit_info") else {}
        return describe_exit(info, self.cpu_limit)

    # -- test guard (see kernel_guard.py) ------------------------------------------
    async def _async_guard_call(self, expression: str):
        """Evaluate ``expression`` in the kernel as a user expression of a silent request.

        User expressions bypass input and AST transformers and cell events. Returns the
        Python value of the expression's text (a literal), or None when the kernel did
        not answer it (an error, a replaced do_execute, a timeout).
        """
        msg_id = self.kc.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={"guard": expression},
            allow_stdin=False,
            stop_on_error=False,
        )
        deadline = time.monotonic() + self.guard_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=remaining)
            except Empty:
                return None
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            result = msg.get("content", {}).get("user_expressions", {}).get("guard", {})
            if result.get("status") != "ok":
                return None
            try:
                return ast.literal_eval(result.get("data", {}).get("text/plain", ""))
            except (ValueError, SyntaxError):
                return None

    def _guard_call(self, expression: str):
        started = time.monotonic()
        try:
            return run_sync(self._async_guard_call)(expression)
        finally:
            self.timings["guard"] = round(self.timings["guard"] + time.monotonic() - started, 4)

    def _tampered(self, cell, what: str, zero: bool) -> None:
        name = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        self.problems.append(f"{TAMPER_LABEL} ({name}): {what}")
        if zero:
            cell.outputs.append(error_output(TAMPER_ENAME, f"{TAMPER_MESSAGE} ({what})"))

    def _arm(self, cell) -> tuple[str, dict | None]:
        if not self._baseline_taken:
            self._baseline_taken = True
            self._guard_call("__import__('_dlcourse_guard').baseline()")
        nonce = secrets.token_hex(16)
        armed = self._guard_call(f"__import__('_dlcourse_guard').arm({nonce!r})")
        try:
            report = json.loads(armed) if isinstance(armed, str) else None
        except ValueError:
            report = None
        if not report or report.get("nonce") != nonce:
            return nonce, None
        return nonce, report

    def _check(self, cell, nonce: str, report: dict | None) -> None:
        failed = any(out.get("output_type") == "error" for out in cell.get("outputs", []))
        answer = self._guard_call(f"__import__('_dlcourse_guard').verdict({nonce!r})")
        try:
            verdict = json.loads(answer) if isinstance(answer, str) else None
        except ValueError:
            verdict = None
        if report is None:
            self._tampered(cell, "採点用のガードが応答しません", zero=not failed)
            return
        if report["changed"]:
            self._tampered(cell, "元に戻した: " + ", ".join(report["changed"][:8]), zero=False)
        if not failed and not (verdict and verdict.get("completed")):
            self._tampered(cell, "テストのセルが最後まで実行されませんでした", zero=True)
        elif verdict and verdict.get("trace"):
            self._tampered(cell, "テスト中に sys.settrace が設定されました", zero=False)

    def preprocess_cell(self, cell, resources, index):
        if self.timings["kernel_start"] is None:
            self.timings["kernel_start"] = round(time.monotonic() - self._t0, 3)
        if self._stopped:
            self._mark_not_run(cell)
            return cell, resources
        started = time.monotonic()
        guarded = self.guard and cell.cell_type == "code"
        is_test = guarded and nbgrader_utils.is_grade(cell)
        if guarded and not self._baseline_taken and nbgrader_utils.is_solution(cell):
            self._baseline_taken = True
            self._guard_call("__import__('_dlcourse_guard').baseline()")
        nonce, report = self._arm(cell) if is_test else (None, None)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            time.sleep(0.2)  # let the launcher record how the kernel ended
            self._stop(f"{self._label(index)}: {self._kernel_gone_reason()}")
            self._mark_not_run(cell)
            return cell, resources
        except CellTimeoutError:
            # The interrupt after a timeout did not bring the kernel back to idle.
            self._kill_kernel()
            self._stop(f"{self._label(index)}: {UNRESPONSIVE}")
            self._mark_not_run(cell)
            return cell, resources
        finally:
            if cell.cell_type == "code":
                self.timings["cells"].append([index, round(time.monotonic() - started, 3)])
        errors = {
            out.get("ename") for out in cell.get("outputs", []) if out.get("output_type") == "error"
        }
        if index not in self._cut and any(
            CUT_MARK in out.get("text", "") for out in cell.get("outputs", [])
        ):
            self.problems.append(f"{self._label(index)}: 出力が多すぎるため省略しました")
        for ename in sorted(errors & set(NOTEWORTHY)):
            self.problems.append(f"{self._label(index)}: {NOTEWORTHY[ename]} ({ename})")
        if is_test and not self._stopped:
            self._check(cell, nonce, report)
        timed_out = TIMEOUT_ENAME in errors
        if timed_out:
            self.problems.append(f"{self._label(index)}: 時間切れ ({self.timeout} 秒)")
            alive = run_sync(self.km.is_alive)()
            if not alive or not run_sync(self._responsive)(self.probe_seconds):
                self._kill_kernel()
                self._stop(f"{self._label(index)}: {UNRESPONSIVE}")
        return cell, resources
