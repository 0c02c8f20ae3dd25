"""Grading kernels forked from the kernel template (grader/dlgrader/sandbox/template.py).

Real template, real kernels (SandboxKernelManager, as nbgrader starts them), real
sandbox; no mocks. Each kernel gets its own job-like folder, as in ``dlgrader grade``.
"""

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
from harness import gone

from dlgrader.plugins.kernel_manager import SandboxKernelManager
from dlgrader.sandbox import template

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux sandbox")

LIMITS = {
    "memory_mb": 2048,
    "cpu_seconds": 60,
    "file_mb": 10,
    "processes": 64,
    "block_network": True,
    "landlock": True,
    "max_cell_output": 1024 * 1024,
}
# The kernel's process as the host sees it (/proc is the host's, not remounted).
WHO = "import os, json; print(json.dumps({'pid': int(os.readlink('/proc/self'))}))"


@pytest.fixture(scope="module")
def tpl(tmp_path_factory):
    server = template.TemplateProcess()
    assert server.wait_ready(), "the kernel template did not start"
    yield server
    server.stop()


class Kernel:
    """One grading kernel in its own job-like folder, driven synchronously."""

    def __init__(self, jobdir: Path, limits: dict | None = None) -> None:
        (jobdir / "k").mkdir(parents=True)
        (jobdir / "cwd").mkdir()
        self.jobdir = jobdir
        self.loop = asyncio.new_event_loop()
        self.km = SandboxKernelManager(
            work_dir=str(jobdir / "k"),
            limits=limits or LIMITS,
            protected=[str(jobdir)],
        )
        self.stderr = open(jobdir / "stderr.txt", "w")  # noqa: SIM115 - closed in stop()
        self.run(self.km.start_kernel(cwd=str(jobdir / "cwd"), stderr=self.stderr))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.run(self.kc.wait_for_ready(timeout=120))

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def execute(self, code: str, timeout: float = 120) -> tuple[str, list]:
        out, errors = [], []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append(msg["content"]["ename"])

        self.run(self.kc.execute_interactive(code, output_hook=hook, timeout=timeout))
        return "".join(out), errors

    def value(self, code: str):
        out, errors = self.execute(code)
        assert not errors, (errors, out)
        return json.loads(out.strip().splitlines()[-1])

    def report(self) -> dict:
        return json.loads((self.jobdir / "k" / "sandbox.json").read_text())

    def stop(self) -> None:
        self.kc.stop_channels()
        self.run(self.km.shutdown_kernel(now=True))
        self.loop.close()
        self.stderr.close()


def descendants(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def test_kernels_come_from_the_template_and_share_nothing(tpl, tmp_path):
    first = Kernel(tmp_path / "job1")
    try:
        assert first.report()["template"] is True
        assert first.report()["pid_namespace"] is True
        me = first.value(WHO)["pid"]
        assert me in descendants(tpl.proc.pid)
        first.execute(
            "import numpy, torch, sys\n"
            "numpy._left_by_first = 1\n"
            "torch.nn._left_by_first = 1\n"
            "open('note.txt', 'w').write('first')\n"
        )
        seen_first = first.value(
            "import numpy, torch, json\n"
            "print(json.dumps([numpy.random.random(), torch.initial_seed()]))"
        )
    finally:
        first.stop()
    assert gone(me)
    second = Kernel(tmp_path / "job2")
    try:
        assert second.report()["template"] is True
        other = second.value(WHO)["pid"]
        assert other != me
        note = str(tmp_path / "job1" / "cwd" / "note.txt")
        left = second.value(
            "import numpy, torch, json, os\n"
            "def readable(path):\n"
            "    try:\n"
            "        return bool(open(path).read())\n"
            "    except OSError:\n"
            "        return False\n"
            "print(json.dumps([hasattr(numpy, '_left_by_first'),"
            " hasattr(torch.nn, '_left_by_first'), os.path.exists('note.txt'),"
            f" readable({note!r})]))"
        )
        assert left == [False, False, False, False]  # the first job's folder is out of reach
        # numpy's global RandomState and torch's generator are reseeded in each kernel.
        seen_second = second.value(
            "import numpy, torch, json\n"
            "print(json.dumps([numpy.random.random(), torch.initial_seed()]))"
        )
        assert seen_second[0] != seen_first[0]
        assert seen_second[1] != seen_first[1]
    finally:
        second.stop()


PROBE = (
    "import sys, os, json, signal, tempfile, torch, numpy, matplotlib\n"
    "a = torch.randn(256, 256); b = numpy.random.rand(256, 256)\n"
    "ok = bool(torch.isfinite(a @ a).all()) and bool(numpy.isfinite(b @ b).all())\n"
    "print(json.dumps({'path': sys.path, 'argv': sys.argv + sys.orig_argv, 'cwd': os.getcwd(),"
    " 'tmp': tempfile.gettempdir(),"
    " 'threads': torch.get_num_threads(), 'ok': ok, 'backend': matplotlib.get_backend(),"
    " 'bytecode': sys.dont_write_bytecode, 'main': sys.modules['__main__'].__name__,"
    " 'sigint': str(signal.getsignal(signal.SIGINT)),"
    " 'env': sorted(k for k in os.environ if k != 'JPY_SESSION_NAME')}))"
)


def probe(jobdir: Path) -> dict:
    kernel = Kernel(jobdir)
    try:
        state = kernel.value(PROBE)
        state["template"] = kernel.report()["template"]
    finally:
        kernel.stop()
    state["cwd"] = os.path.relpath(state["cwd"], jobdir)
    state["tmp"] = os.path.relpath(state["tmp"], jobdir)
    state["argv"] = [arg.replace(str(jobdir), "JOB") for arg in state["argv"]]
    return state


def test_kernel_is_the_one_a_fresh_launcher_makes(tpl, tmp_path):
    served = probe(tmp_path / "job1")
    folder = os.environ.pop(template.FOLDER_VARIABLE)
    try:
        execd = probe(tmp_path / "job2")
    finally:
        os.environ[template.FOLDER_VARIABLE] = folder
    assert (served.pop("template"), execd.pop("template")) == (True, False)
    assert served["ok"] is True
    assert served["backend"] == template.INLINE_BACKEND
    assert served == execd


def test_template_runs_no_submission_code_and_opens_no_job_file(tpl, tmp_path):
    before = psutil.Process(tpl.proc.pid).cpu_times()
    kernel = Kernel(tmp_path / "job")
    try:
        kernel.execute(
            "import time\n"
            "end = time.process_time() + 2\n"
            "while time.process_time() < end:\n"
            "    pass\n"
        )
        opened = [f.path for f in psutil.Process(tpl.proc.pid).open_files()]
        cwd = psutil.Process(tpl.proc.pid).cwd()
    finally:
        kernel.stop()
    after = psutil.Process(tpl.proc.pid).cpu_times()
    # The 2 s of busy student code ran in the kernel, not in the template.
    assert (after.user + after.system) - (before.user + before.system) < 1.0
    assert not [p for p in opened if p.startswith(str(tmp_path))]
    assert not cwd.startswith(str(tmp_path))


def test_a_kernel_cannot_ask_the_template_for_another(tpl, tmp_path):
    kernel = Kernel(tmp_path / "job")
    try:
        key = os.path.join(tpl.folder, "key")
        sock = os.path.join(tpl.folder, "kernel.sock")
        answer = kernel.value(
            "import json, os, socket\n"
            "result = []\n"
            "try:\n"
            f"    os.open({key!r}, os.O_RDONLY)\n"
            "    result.append('key opened')\n"
            "except OSError as exc:\n"
            "    result.append(type(exc).__name__)\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n"
            f"    s.connect({sock!r})\n"
            "    s.sendall(b'{}\\n')\n"
            "    result.append(s.recv(100).decode())\n"
            "except OSError as exc:\n"
            "    result.append(type(exc).__name__)\n"
            "print(json.dumps(result))"
        )
    finally:
        kernel.stop()
    assert answer[0] != "key opened"
    assert "started" not in answer[1]


def test_interrupt_memory_cap_and_kill_through_the_template(tpl, tmp_path):
    kernel = Kernel(tmp_path / "job", {**LIMITS, "memory_mb": 1024})
    try:
        assert kernel.report()["template"] is True
        _, errors = kernel.execute("x = bytearray(2 * 1024 ** 3)")
        assert errors == ["MemoryError"]
        msg_id = kernel.kc.execute("import time\ntime.sleep(60)")
        time.sleep(1.0)
        kernel.run(kernel.km.interrupt_kernel())
        reply = kernel.run(kernel.kc.get_shell_msg(timeout=30))
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        me = kernel.value(WHO)["pid"]
        stub = kernel.km.provisioner.pid
        os.kill(stub, signal.SIGKILL)  # what the watchdog does to a job's kernels
        assert gone(me)
    finally:
        kernel.stop()


def test_fallback_when_the_template_is_gone(tpl, tmp_path):
    server = template.TemplateProcess()
    assert server.wait_ready()
    server.proc.kill()
    server.proc.wait()
    try:
        kernel = Kernel(tmp_path / "job")
        try:
            assert kernel.report()["template"] is False
            assert kernel.report()["pid_namespace"] is True
            assert kernel.value("import json; print(json.dumps(6 * 7))") == 42
        finally:
            kernel.stop()
        log = (tmp_path / "job" / "stderr.txt").read_text()
        assert "kernel template unavailable" in log
    finally:
        server.stop()
        os.environ[template.FOLDER_VARIABLE] = tpl.folder  # the module's template again


def test_hostile_code_is_confined_in_a_served_kernel(tpl, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    kernel = Kernel(tmp_path / "job", {**LIMITS, "processes": 16})
    try:
        assert kernel.report()["template"] is True
        verdicts = kernel.value(
            "import json, os, socket\n"
            "seen = {}\n"
            "try:\n"
            f"    open({str(outside)!r}, 'w').write('changed')\n"
            "    seen['write'] = 'written'\n"
            "except OSError as exc:\n"
            "    seen['write'] = type(exc).__name__\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
            "    seen['net'] = 'connected'\n"
            "except OSError as exc:\n"
            "    seen['net'] = type(exc).__name__\n"
            "children = []\n"
            "try:\n"
            "    for _ in range(64):\n"
            "        pid = os.fork()\n"
            "        if pid == 0:\n"
            "            import time; time.sleep(30); os._exit(0)\n"
            "        children.append(pid)\n"
            "    seen['fork'] = 'unlimited'\n"
            "except OSError as exc:\n"
            "    seen['fork'] = type(exc).__name__\n"
            "for pid in children:\n"
            "    os.kill(pid, 9); os.waitpid(pid, 0)\n"
            "print(json.dumps(seen))"
        )
    finally:
        kernel.stop()
    assert outside.read_text() == "untouched"
    assert verdicts["write"] == "PermissionError"
    assert verdicts["net"] != "connected"
    assert verdicts["fork"] == "BlockingIOError"
