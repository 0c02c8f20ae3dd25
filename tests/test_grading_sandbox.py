"""The kernel launcher of dlgrader grade (grader/dlgrader/sandbox/launcher.py), without Jupyter.

Each test runs a small Python program through the launcher, as the grader runs a
student's kernel, and checks one confinement: writes outside the allowed folders, the
network, the memory and CPU-time caps, signals to outside processes, and processes left
behind by the program.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dlgrader.sandbox import launcher as sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux sandbox")
LAUNCHER = Path(sandbox.__file__)


def confined(tmp_path: Path, code: str, **limits) -> tuple[subprocess.CompletedProcess, dict]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    settings = {
        "memory_mb": 512,
        "cpu_seconds": 30,
        "file_mb": 10,
        "writable": [str(work)],
        "block_network": True,
        "report": str(tmp_path / "report.json"),
        "exit_report": str(tmp_path / "exit.json"),
        **limits,
    }
    (tmp_path / "limits.json").write_text(json.dumps(settings))
    done = subprocess.run(
        [sys.executable, "-S", "-E", str(LAUNCHER), "--limits", str(tmp_path / "limits.json")]
        + ["--", sys.executable, "-c", code],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, json.loads((tmp_path / "report.json").read_text())


def test_writes_only_where_allowed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("original")
    done, report = confined(
        tmp_path,
        "import pathlib\n"
        "pathlib.Path('inside.txt').write_text('ok')\n"
        f"for target in [{str(outside)!r}, '../outside.txt', '../new.txt']:\n"
        "    try:\n"
        "        open(target, 'w').write('changed')\n"
        "        print('WROTE', target)\n"
        "    except PermissionError:\n"
        "        print('denied', target)\n",
    )
    if not report["landlock"]:
        pytest.skip("Landlock is not available on this kernel")
    assert done.returncode == 0, done.stderr
    assert "WROTE" not in done.stdout, done.stdout
    assert done.stdout.count("denied") == 3
    assert (tmp_path / "work" / "inside.txt").read_text() == "ok"
    assert outside.read_text() == "original"
    assert not (tmp_path / "new.txt").exists()


def test_network_is_unreachable(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(5)

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    done, report = confined(
        tmp_path,
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('CONNECTED')\n"
        "except OSError as exc:\n"
        "    print('blocked', exc)\n",
    )
    thread.join()
    server.close()
    assert report["network_namespace"] or (report["landlock"] or {}).get("tcp_blocked"), report
    assert "blocked" in done.stdout and not accepted, done.stdout + done.stderr


def test_memory_cap_raises_memory_error(tmp_path):
    done, _ = confined(
        tmp_path,
        "try:\n    block = bytearray(2 * 1024 ** 3)\n    print('ALLOCATED')\n"
        "except MemoryError:\n    print('MemoryError')\n",
        memory_mb=256,
    )
    assert done.stdout.strip() == "MemoryError", done.stdout + done.stderr


def test_cpu_cap_kills_a_busy_program(tmp_path):
    started = time.monotonic()
    done, _ = confined(tmp_path, "while True:\n    pass\n", cpu_seconds=1)
    assert done.returncode != 0
    assert time.monotonic() - started < 30
    info = json.loads((tmp_path / "exit.json").read_text())
    assert info["cpu"] >= 0.9


def test_processes_left_behind_die_with_the_program(tmp_path):
    marker = tmp_path / "work" / "still-running"
    done, report = confined(
        tmp_path,
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', "
        f"'import time, pathlib\\ntime.sleep(3)\\npathlib.Path({str(marker)!r}).touch()'],"
        " start_new_session=True)\n",
    )
    if not report["pid_namespace"]:
        pytest.skip("no PID namespace on this system")
    time.sleep(4)
    assert not marker.exists(), "a daemonized child outlived the sandboxed program"


def test_process_cap_stops_a_fork_bomb(tmp_path):
    done, report = confined(
        tmp_path,
        "import os, time\n"
        "children = 0\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(20)\n"
        "            os._exit(0)\n"
        "        children += 1\n"
        "    print('UNCAPPED', children)\n"
        "except BlockingIOError:\n"
        "    print('capped', children)\n",
        processes=40,
    )
    if not report["processes"] and not os.environ.get("CI"):
        pytest.skip("root without a writable cgroup v1 pids hierarchy: no process cap here")
    assert report["processes"], report
    verdict, children = done.stdout.split()
    assert verdict == "capped", done.stdout + done.stderr
    assert int(children) <= 40
    cgroups = Path(sandbox.PIDS_CGROUP).glob("dlcourse-*")
    left = [c.name for c in cgroups if not sandbox._alive(int(c.name.removeprefix("dlcourse-")))]
    assert not left, f"cgroups left behind by launchers that ended: {left}"


def test_the_program_holds_no_capability(tmp_path):
    done, _ = confined(
        tmp_path,
        "status = open('/proc/self/status').read().splitlines()\n"
        "wanted = ('CapEff', 'CapBnd', 'CapAmb')\n"
        "print(' '.join(line for line in status if line.startswith(wanted)))\n",
    )
    fields = done.stdout.split()
    assert fields[::2] == ["CapEff:", "CapBnd:", "CapAmb:"], done.stdout + done.stderr
    assert all(int(value, 16) == 0 for value in fields[1::2]), done.stdout


def test_no_signals_to_outside_processes(tmp_path):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        done, report = confined(
            tmp_path,
            "import os, signal\n"
            "try:\n"
            f"    os.kill({victim.pid}, signal.SIGKILL)\n"
            "    print('SENT')\n"
            "except OSError as exc:\n"
            "    print('refused', exc)\n",
        )
        time.sleep(0.2)
        assert victim.poll() is None, "the confined program killed an outside process"
        assert "refused" in done.stdout, done.stdout + done.stderr
    finally:
        victim.kill()
        victim.wait()


def test_probe_reports_landlock_version():
    assert sandbox.landlock_abi() >= 0
    assert os.path.exists(LAUNCHER)


def test_reads_only_where_allowed(tmp_path):
    """With a readable list, the program reads its own folder and the Python installation only."""
    from dlgrader.plugins.kernel_manager import readable_paths

    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "mine.txt").write_text("own file")
    readable = readable_paths([str(tmp_path)])
    assert all(not str(tmp_path).startswith(path + "/") for path in readable), readable
    code = (
        "import json, os, numpy\n"
        "seen = {'own': open('mine.txt').read()}\n"
        "seen['maps'] = 'ok' if open('/proc/self/maps').read() else 'empty'\n"
        f"for name, target in [('secret', {str(secret)!r}), ('list', {str(tmp_path)!r}),"
        f" ('tmp', '/tmp'), ('environ', '/proc/{os.getpid()}/environ'),"
        f" ('root', '/proc/{os.getpid()}/root{secret}')]:\n"
        "    try:\n"
        "        is_dir = os.path.isdir(target)\n"
        "        seen[name] = os.listdir(target) if is_dir else open(target).read()\n"
        "    except OSError as error:\n"
        "        seen[name] = type(error).__name__\n"
        "print(json.dumps(seen))\n"
    )
    done, report = confined(tmp_path, code, readable=readable)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    if not report["landlock"]:
        pytest.skip("Landlock is not available on this machine")
    assert report["landlock"]["reads_confined"] is True
    assert seen == {
        "own": "own file",
        "secret": "PermissionError",
        "list": "PermissionError",
        "tmp": "PermissionError",
        "environ": "PermissionError",
        "root": "PermissionError",
        "maps": "ok",
    }
