"""Grade one submission in a throw-away copy of the course: the stateless worker side.

A worker receives an *assignment bundle* (the course's nbgrader_config.py, a gradebook
holding only the assignment's definition, the released notebooks and the extra files of
the source folder) and one *submission* (the student's files), and returns the autograded
folder and what went wrong. It never sees the real gradebook, the other students or the
course sources; only the coordinator writes the gradebook (see :mod:`.merge`).

:func:`grade_payload` is what the local worker threads and the Dask tasks call. It lays
out a job folder::

    JOB/job.json                      what to grade and the limits
    JOB/course/nbgrader_config.py     the course's configuration
    JOB/course/<source>/<assignment>/ extra files nbgrader copies next to the notebook
    JOB/course/submitted/<student>/<assignment>/   the submission
    JOB/release/<notebook>.ipynb      released notebooks (to restore deleted test cells)
    JOB/db/gradebook.db               the assignment's definition only
    JOB/k/                            the kernel's sockets, home and exit records

and runs :func:`run_job` in a process forked from a fork server that has nbgrader
imported already (:mod:`.server`), under a wall-clock watchdog. The kernel's working
folder is ``JOB/course/autograded/<student>/<assignment>`` and the sandbox lets it write
only there and in ``JOB/k``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
import traceback
from pathlib import Path

MAX_FILE_BYTES = 50 * 1024 * 1024  # files written by student code that are kept
MAX_TOTAL_BYTES = 200 * 1024 * 1024


# ---------------------------------------------------------------------------- layout
def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:
            continue  # never let a relative name climb out of its folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def materialize(bundle: dict, submission: dict, base: str | None = None) -> Path:
    """Write the job folder for one submission and return it."""
    jobdir = Path(tempfile.mkdtemp(prefix="dlg-", dir=base))
    os.chmod(jobdir, 0o700)
    dirs = bundle["directories"]
    course = jobdir / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(bundle["config"], encoding="utf-8")
    _write_files(course / dirs["source"] / bundle["assignment"], bundle["source_files"])
    sub = course / dirs["submitted"] / submission["student"] / bundle["assignment"]
    sub.mkdir(parents=True)
    _write_files(sub, submission["files"])
    _write_files(jobdir / "release", {f"{n}.ipynb": d for n, d in bundle["release"].items()})
    (jobdir / "db").mkdir()
    (jobdir / "db" / "gradebook.db").write_bytes(bundle["gradebook"])
    (jobdir / "k").mkdir()
    job = {
        "assignment": bundle["assignment"],
        "student": submission["student"],
        "notebooks": bundle["notebooks"],
        "directories": dirs,
        "limits": bundle["limits"],
        "course_id": bundle.get("course_id", ""),
    }
    (jobdir / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return jobdir


def wall_limit(bundle: dict) -> float:
    """Seconds after which a whole submission is stopped, whatever it does."""
    limits = bundle["limits"]
    per_cell = limits["timeout"] + 15  # a cell, its interrupt and the probe that follows
    return per_cell * (bundle["code_cells"] + 2) + 60


# ---------------------------------------------------------------------------- child
def _kill_kernels(jobdir: Path) -> None:
    """Kill kernel launchers of this job that are still around (their whole group)."""
    try:
        pids = [int(x) for x in (jobdir / "k" / "pids").read_text().split()]
    except (OSError, ValueError):
        return
    me = os.getpid()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and os.getpgid(pid) == pid:  # still our child, own group
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def _collect(src: Path, out: Path) -> list[str]:
    """Copy the regular files of the autograded folder; skip links and oversized files."""
    notes = []
    total = 0
    if not src.is_dir():
        return notes
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(src)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                notes.append(f"通常ファイルでないものを除きました: {rel}")
                continue
            if info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_TOTAL_BYTES:
                notes.append(f"大きすぎるファイルを除きました: {rel} ({info.st_size} bytes)")
                continue
            total += info.st_size
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / rel, follow_symlinks=False)
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return notes


def _autograde(job: dict, jobdir: Path, course: Path, phases: dict) -> tuple[dict, dict]:
    """Run nbgrader's own Autograde converter in the job's course copy."""
    started = time.monotonic()
    from nbgrader.apps.autogradeapp import AutogradeApp
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from dlcourse.grading.kernel import GuardedExecute, SandboxKernelManager

    outcomes: dict[str, dict] = {}
    isolation: dict = {}

    class IsolatedAutograde(Autograde):
        def write_single_notebook(self, output, resources):
            dest = Path(
                self._format_dest(
                    resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]
                )
            )
            target = dest / (resources["unique_key"] + self.exporter.file_extension)
            if target.is_symlink() or (target.exists() and not target.is_file()):
                target.unlink()  # planted by student code: never write through it
            if not self._sanitizing:
                outcomes[resources["unique_key"]] = {
                    "state": "graded",
                    **resources.get("dlcourse", {}),
                }
            super().write_single_notebook(output, resources)

        def convert_single_notebook(self, notebook_filename):
            name = Path(notebook_filename).stem
            try:
                super().convert_single_notebook(notebook_filename)
            except Exception as exc:  # noqa: BLE001 - one broken notebook must not stop others
                self.log.error("grading %s failed:\n%s", name, traceback.format_exc())
                outcomes[name] = {
                    "state": "error",
                    "reason": "採点中にエラーが起きました "
                    f"({exc.__class__.__name__}: {str(exc)[:200]})",
                }
                dest = Path(self._format_dest(job["assignment"], job["student"]))
                stale = dest / f"{name}.ipynb"
                if stale.is_symlink() or stale.exists():
                    stale.unlink()

        def set_permissions(self, assignment_id, student_id):
            dest = Path(self._format_dest(assignment_id, student_id))
            for dirpath, dirnames, filenames in os.walk(dest):
                for name in dirnames + filenames:
                    path = Path(dirpath) / name
                    if path.is_symlink() or not (path.is_file() or path.is_dir()):
                        path.unlink()
            super().set_permissions(assignment_id, student_id)

    limits = job["limits"]
    launched_from = os.getcwd()  # the course root when the grader runs there
    os.chdir(course)
    app = AutogradeApp()
    app.initialize([f"--log-level={limits.get('log_level', 'WARN')}"])
    cfg = Config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{jobdir / 'db' / 'gradebook.db'}"
    cfg.CourseDirectory.assignment_id = job["assignment"]
    cfg.CourseDirectory.student_id = job["student"]
    cfg.CourseDirectory.notebook_id = "*"
    cfg.Execute.timeout = int(limits["timeout"])
    cfg.Execute.kernel_manager_class = SandboxKernelManager
    cfg.SandboxKernelManager.work_dir = str(jobdir / "k")
    cfg.SandboxKernelManager.protected = [str(jobdir), launched_from]
    cfg.SandboxKernelManager.limits = {
        "memory_mb": int(limits["memory_mb"]),
        "cpu_seconds": int(limits["cpu_seconds"]),
        "file_mb": int(limits["file_mb"]),
        "processes": int(limits.get("processes", 256)),
        "block_network": bool(limits["block_network"]),
        "landlock": True,
        "max_cell_output": int(limits["max_cell_output_mb"] * 1024 * 1024),
    }
    # The kernel drops output past the cap itself; this second, looser cap catches what
    # bypasses sys.stdout (file-descriptor writes, rich displays).
    cfg.GuardedExecute.max_cell_output = int(2 * limits["max_cell_output_mb"] * 1024 * 1024)
    cfg.GuardedExecute.cpu_limit = float(limits["cpu_seconds"])
    configured = app.config.Autograde.get(
        "autograde_preprocessors", Autograde.autograde_preprocessors.default()
    )
    cfg.Autograde.autograde_preprocessors = [
        GuardedExecute
        if pp is Execute or pp in ("Execute", "nbgrader.preprocessors.Execute")
        else pp
        for pp in configured
    ]
    app.update_config(cfg)
    converter = IsolatedAutograde(coursedir=app.coursedir, parent=app)
    phases["setup"] = round(time.monotonic() - started, 3)
    converter.start()
    phases["nbgrader"] = round(time.monotonic() - started - phases["setup"], 3)
    report = jobdir / "k" / "sandbox.json"
    if report.exists():
        isolation = json.loads(report.read_text(encoding="utf-8"))
    return outcomes, isolation


def run_job(jobdir: str | Path) -> int:
    """The forked child: prepare the submission, run nbgrader, write result.json."""
    import nbformat

    from dlcourse.grading.integrity import TAMPER_LABEL, scan_notebook
    from dlcourse.grading.repair import prepare

    jobdir = Path(jobdir)
    started = time.monotonic()
    job = json.loads((jobdir / "job.json").read_text(encoding="utf-8"))
    dirs = job["directories"]
    course = jobdir / "course"
    sub = course / dirs["submitted"] / job["student"] / job["assignment"]
    result: dict = {
        "student": job["student"],
        "notebooks": {},
        "notes": [],
        "isolation": {},
        "phases": {},
        "repairs": [],
    }
    expected = [f"{name}.ipynb" for name in job["notebooks"]]
    present = sorted(p.name for p in sub.glob("*.ipynb"))
    missing = [name for name in expected if name not in present]
    stray = [name for name in present if name not in expected]
    if len(missing) == 1 and len(stray) == 1:
        (sub / stray[0]).rename(sub / missing[0])
        result["repairs"].append(
            f"ノートブック名が違うため {stray[0]} を {missing[0]} として採点しました"
        )
    else:
        for name in stray:
            result["notes"].append(f"課題にないノートブックは採点していません: {name}")
    gradable = []
    for name in job["notebooks"]:
        path = sub / f"{name}.ipynb"
        if not path.exists():
            result["notebooks"][name] = {
                "state": "missing",
                "reason": f"{name}.ipynb が提出されていません",
            }
            continue
        repair = prepare(path, jobdir / "release" / f"{name}.ipynb")
        if not repair.gradable:
            path.unlink()
            result["notebooks"][name] = {"state": "unreadable", "reason": repair.reason}
            continue
        gradable.append(name)
        notes = []
        try:
            signs = scan_notebook(nbformat.read(path, as_version=4))
        except Exception:  # noqa: BLE001 - nbgrader reports unreadable notebooks itself
            signs = []
        notes += [f"{TAMPER_LABEL} の疑い: {line}" for line in signs]
        result["notebooks"][name] = {"state": "error", "notes": notes, "repairs": repair.notes}
    if gradable:
        try:
            result["phases"]["prepare"] = round(time.monotonic() - started, 3)
            outcomes, result["isolation"] = _autograde(job, jobdir, course, result["phases"])
        except BaseException as exc:  # noqa: BLE001 - reported, never raised
            outcomes = {}
            result["error"] = f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()[-2000:]}"
        finally:
            _kill_kernels(jobdir)
        for name in gradable:
            entry = result["notebooks"][name]
            outcome = outcomes.get(name)
            if outcome is None:
                entry["reason"] = "採点できませんでした (nbgrader が結果を書きませんでした)"
            else:
                entry.update(outcome)
    out = jobdir / "out"
    out.mkdir()
    autograded = course / dirs["autograded"] / job["student"] / job["assignment"]
    result["notes"] += _collect(autograded, out)
    result["seconds"] = round(time.monotonic() - started, 3)
    tmp = jobdir / "result.json.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, jobdir / "result.json")
    return 0


# ---------------------------------------------------------------------------- payload
def _read_tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def grade_payload(bundle: dict, submission: dict, base: str | None = None) -> dict:
    """Grade one submission in a fresh job folder; return the result with its files.

    Never raises for anything the submission does: a crash of the grading process or
    the watchdog shows up as ``result["error"]``.
    """
    from dlcourse.grading.server import acquire, release

    started = time.monotonic()
    jobdir = materialize(bundle, submission, base)
    try:
        server = acquire()
        try:
            status, timed_out, log_tail = server.run(jobdir, wall_limit(bundle))
        finally:
            release(server)
        result_path = jobdir / "result.json"
        if result_path.exists() and not timed_out:
            result = json.loads(result_path.read_text(encoding="utf-8"))
            result["files"] = _read_tree(jobdir / "out")
        else:
            if timed_out:
                reason = f"制限時間 ({wall_limit(bundle):.0f} 秒) を超えたため採点を打ち切りました"
            else:
                reason = f"採点プロセスが異常終了しました (status {status})"
            result = {
                "student": submission["student"],
                "notebooks": {
                    name: {"state": "error", "reason": reason} for name in bundle["notebooks"]
                },
                "notes": [],
                "isolation": {},
                "files": {},
                "error": reason + "\n" + log_tail,
            }
        result["wall_seconds"] = round(time.monotonic() - started, 3)
        result["worker"] = f"{socket.gethostname()}:{os.getpid()}"
        return result
    finally:
        if not os.environ.get("DLCOURSE_KEEP_JOBS"):  # kept for debugging only
            shutil.rmtree(jobdir, ignore_errors=True)
