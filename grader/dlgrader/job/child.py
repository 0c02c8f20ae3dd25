"""The job child: a process forked from the fork server for one submission, never reused.

It reads JOB/job.json, repairs what can be repaired without running student code
(:mod:`.repair`), scans the answers for tampering (:mod:`.integrity`), runs nbgrader's
``Autograde`` converter in the job's course copy (the kernel starts in the sandbox), and
writes JOB/result.json (a :class:`~dlgrader.records.Result`) and the autograded folder to
JOB/out/ for the executor to read back.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import time
import traceback
from pathlib import Path

import psutil

from dlgrader.records import TAMPER_LABEL, Job, NotebookResult, Result

MAX_FILE_BYTES = 50 * 1024 * 1024  # files written by student code that are kept
MAX_TOTAL_BYTES = 200 * 1024 * 1024


def _kill_kernels(jobdir: Path) -> None:
    """Kill kernel launchers of this job that are still around (their whole group)."""
    try:
        pids = [int(x) for x in (jobdir / "k" / "pids").read_text().split()]
    except (OSError, ValueError):
        return
    me = os.getpid()
    for pid in pids:
        try:
            launcher = psutil.Process(pid)
            ours = launcher.ppid() == me and os.getpgid(pid) == pid  # our child, own group
        except (psutil.Error, OSError):
            continue
        if ours:
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


def _autograde(job: Job, jobdir: Path, course: Path, phases: dict) -> tuple[dict, dict]:
    """Run nbgrader's own Autograde converter in the job's course copy."""
    import json

    started = time.monotonic()
    from nbgrader.apps.autogradeapp import AutogradeApp

    from dlgrader.plugins.autograde import IsolatedAutograde, configure

    launched_from = os.getcwd()  # the course root when the grader runs there
    os.chdir(course)
    app = AutogradeApp()
    app.initialize([f"--log-level={job.log_level}"])
    configure(app, job, jobdir, course, protected=[str(jobdir), launched_from])
    converter = IsolatedAutograde(coursedir=app.coursedir, parent=app)
    phases["setup"] = round(time.monotonic() - started, 3)
    converter.start()
    phases["nbgrader"] = round(time.monotonic() - started - phases["setup"], 3)
    isolation = {}
    report = jobdir / "k" / "sandbox.json"
    if report.exists():
        isolation = json.loads(report.read_text(encoding="utf-8"))
    return converter.outcomes, isolation


def _match_names(sub: Path, job: Job, result: Result) -> None:
    """Grade the only notebook of a submission under a wrong name as the expected one."""
    expected = [f"{name}.ipynb" for name in job.notebooks]
    present = sorted(p.name for p in sub.glob("*.ipynb"))
    missing = [name for name in expected if name not in present]
    stray = [name for name in present if name not in expected]
    if len(missing) == 1 and len(stray) == 1:
        (sub / stray[0]).rename(sub / missing[0])
        result.repairs.append(
            f"ノートブック名が違うため {stray[0]} を {missing[0]} として採点しました"
        )
    else:
        for name in stray:
            result.notes.append(f"課題にないノートブックは採点していません: {name}")


def run_job(jobdir: str | Path) -> int:
    """Prepare the submission, run nbgrader, write result.json; the child's exit code."""
    import nbformat

    from dlgrader.job.integrity import scan_notebook
    from dlgrader.job.repair import prepare

    jobdir = Path(jobdir)
    started = time.monotonic()
    job = Job.from_json((jobdir / "job.json").read_text(encoding="utf-8"))
    dirs = job.directories
    course = jobdir / "course"
    sub = course / dirs["submitted"] / job.student / job.assignment
    result = Result(student=job.student)
    _match_names(sub, job, result)
    gradable = []
    for name in job.notebooks:
        path = sub / f"{name}.ipynb"
        if not path.exists():
            result.notebooks[name] = NotebookResult(
                state="missing", reason=f"{name}.ipynb が提出されていません"
            )
            continue
        repair = prepare(path, jobdir / "release" / f"{name}.ipynb")
        if not repair.gradable:
            path.unlink()
            result.notebooks[name] = NotebookResult(state="unreadable", reason=repair.reason)
            continue
        gradable.append(name)
        try:
            signs = scan_notebook(nbformat.read(path, as_version=4))
        except Exception:  # noqa: BLE001 - nbgrader reports unreadable notebooks itself
            signs = []
        result.notebooks[name] = NotebookResult(
            state="error",
            notes=[f"{TAMPER_LABEL} の疑い: {line}" for line in signs],
            repairs=list(repair.notes),
        )
    if gradable:
        try:
            result.phases["prepare"] = round(time.monotonic() - started, 3)
            outcomes, result.isolation = _autograde(job, jobdir, course, result.phases)
        except BaseException as exc:  # noqa: BLE001 - reported, never raised
            outcomes = {}
            result.error = f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc()[-2000:]}"
        finally:
            _kill_kernels(jobdir)
        for name in gradable:
            entry = result.notebooks[name]
            outcome = outcomes.get(name)
            if outcome is None:
                entry.reason = "採点できませんでした (nbgrader が結果を書きませんでした)"
            else:
                entry.state = outcome.state
                entry.reason = outcome.reason
                entry.problems = outcome.problems
                entry.timings = outcome.timings
    out = jobdir / "out"
    out.mkdir()
    autograded = course / dirs["autograded"] / job.student / job.assignment
    result.notes += _collect(autograded, out)
    result.seconds = round(time.monotonic() - started, 3)
    tmp = jobdir / "result.json.tmp"
    tmp.write_text(result.to_json(), encoding="utf-8")
    os.replace(tmp, jobdir / "result.json")
    return 0
