"""``dlcourse grade``: grade every submission of an assignment, in parallel and isolated.

The coordinator (this module, one process) takes the course lock, exports the assignment
bundle, decides which submissions still need grading (the journal makes a re-run after a
crash resume where it stopped), hands them to workers, and merges each result into the
gradebook as soon as it arrives. Workers are either local threads that each drive a
fork server (:mod:`.server`) or the workers of a Dask cluster (``--scheduler``); in both
cases a worker only returns data, and only this process writes the gradebook.
"""

from __future__ import annotations

import csv
import datetime
import os
import statistics
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.grading.course import Course, Journal, RunLock
from dlcourse.grading.worker import grade_payload


@dataclass
class Options:
    assignment: str
    root: Path = field(default_factory=Path.cwd)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: int | None = None  # per cell; default: the course's Execute.timeout
    memory_mb: int = 2048
    cpu_seconds: int | None = None  # default: 10 x timeout
    file_mb: int = 200
    processes: int = 256  # processes and threads a kernel may start (fork bombs)
    max_cell_output_mb: float = 2.0
    db_url: str | None = None
    scheduler: str | None = None
    force: bool = False
    block_network: bool = True
    progress: bool = True
    log_level: str = "WARN"


@dataclass
class Summary:
    assignment: str
    entries: dict[str, dict]
    graded_now: int
    csv_path: Path

    @property
    def problems(self) -> dict[str, dict]:
        return {s: e for s, e in self.entries.items() if e["reasons"]}


def _error_result(bundle: dict, student: str, reason: str) -> dict:
    return {
        "student": student,
        "notebooks": {name: {"state": "error", "reason": reason} for name in bundle["notebooks"]},
        "notes": [],
        "files": {},
        "isolation": {},
        "error": reason,
    }


# Submissions being graded right now (student -> start time), for the progress bar.
IN_FLIGHT: dict[str, float] = {}
SLOW_SECONDS = 10.0  # from then on the bar names the submission it is waiting for


def _tracked(bundle: dict, sub: dict) -> dict:
    IN_FLIGHT[sub["student"]] = time.monotonic()
    try:
        return grade_payload(bundle, sub)
    finally:
        IN_FLIGHT.pop(sub["student"], None)


def _waiting_for() -> str:
    """「待ち: student (24 秒)」 for the longest-running submission past SLOW_SECONDS."""
    now = time.monotonic()
    running = sorted(IN_FLIGHT.items(), key=lambda item: item[1])
    if not running or now - running[0][1] < SLOW_SECONDS:
        return ""
    student, started = running[0]
    return f"待ち: {student} ({now - started:.0f} 秒)"


def _run_local(bundle: dict, submissions: list[dict], workers: int) -> Iterator[dict]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from dlcourse.grading import server

    server.warm_up(min(workers, len(submissions)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_tracked, bundle, sub): sub for sub in submissions}
            try:
                for future in as_completed(futures):
                    student = futures[future]["student"]
                    try:
                        yield future.result()
                    except Exception as exc:  # noqa: BLE001 - one submission, not the run
                        yield _error_result(bundle, student, f"採点に失敗しました: {exc}")
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        server.shutdown()


def _dask_results(bundle: dict, submissions: list[dict], scheduler: str) -> Iterator[dict]:
    from distributed import Client, as_completed

    client = Client(scheduler, timeout="30s")
    try:
        shared = client.scatter(bundle, broadcast=True)
        token = uuid.uuid4().hex[:8]
        students = {}
        futures = []
        for sub in submissions:
            future = client.submit(
                grade_payload,
                shared,
                sub,
                key=f"dlcourse-grade-{bundle['assignment']}-{sub['student']}-{token}",
                pure=False,
                retries=1,
            )
            students[future.key] = sub["student"]
            futures.append(future)
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, not a lost run
                yield _error_result(bundle, students[future.key], f"Dask での採点に失敗: {exc}")
    finally:
        client.close()


def _entry(course: Course, bundle: dict, sub: dict, result: dict) -> dict:
    """The journal record of one merged submission."""
    reasons = list(sub.get("notes", [])) + list(result.get("notes", []))
    repairs = list(result.get("repairs", []))
    states = {}
    timings = {}
    for name, info in result["notebooks"].items():
        states[name] = info.get("state", "error")
        repairs += [f"{name}: {note}" for note in info.get("repairs", [])]
        if info.get("reason"):
            reasons.append(f"{name}: {info['reason']}")
        reasons += [f"{name}: {note}" for note in info.get("notes", [])]
        reasons += [f"{name}: {problem}" for problem in info.get("problems", [])]
        if info.get("timings"):
            timings[name] = info["timings"]
    error = (result.get("error") or "").strip()
    if error and not any(error.splitlines()[0] in reason for reason in reasons):
        reasons.append(f"採点プロセス: {error.splitlines()[0][:300]}")
    scores = course.scores(bundle["assignment"], sub["student"])
    return {
        "student": sub["student"],
        "bundle": bundle["fingerprint"],
        "digest": sub["digest"],
        "score": scores["score"],
        "max_score": scores["max_score"],
        "penalty": scores["penalty"],
        "needs_manual_grade": scores["needs_manual_grade"],
        "notebooks": states,
        "reasons": reasons,
        "repairs": repairs,
        "seconds": result.get("wall_seconds"),
        "worker": result.get("worker"),
        "timings": timings,
        "phases": result.get("phases", {}),
        "isolation": result.get("isolation", {}),
        "graded_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _current(course: Course, assignment: str, entry: dict) -> dict:
    """A journal entry with the gradebook's scores now (manual grades change them)."""
    from nbgrader.api import MissingEntry

    try:
        scores = course.scores(assignment, entry["student"])
    except MissingEntry:  # not in this gradebook (another --db): keep the record
        return entry
    keys = ("score", "max_score", "penalty", "needs_manual_grade")
    return {**entry, **{key: scores[key] for key in keys}}


def grade(options: Options, out=sys.stdout) -> Summary:
    """Grade the assignment (see the module docstring); returns the summary."""
    from tqdm import tqdm

    # nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every merge;
    # they say nothing to an instructor and break the progress bar.
    warnings.filterwarnings("ignore", message=r".*not in session.*", module="nbgrader")
    warnings.filterwarnings("ignore", message=r".*not in session.*")
    course = Course.load(options.root, options.db_url)
    assignment = options.assignment
    course.check_assignment(assignment)
    with RunLock(course.root, assignment):
        timeout = options.timeout or course.default_timeout()
        limits = {
            "timeout": timeout,
            "memory_mb": options.memory_mb,
            "cpu_seconds": options.cpu_seconds or 10 * timeout,
            "file_mb": options.file_mb,
            "processes": options.processes,
            "max_cell_output_mb": options.max_cell_output_mb,
            "block_network": options.block_network,
            "log_level": options.log_level,
        }
        bundle = course.make_bundle(assignment, limits)
        journal = Journal(course.state_dir(assignment))
        previous = journal.entries()
        students = course.students(assignment)
        todo = []
        for student in students:
            sub = course.submission(assignment, student)
            before = previous.get(student)
            if (
                not options.force
                and before
                and before.get("bundle") == bundle["fingerprint"]
                and before.get("digest") == sub["digest"]
                and course.path("autograded", student, assignment).is_dir()
            ):
                continue
            todo.append(sub)
        reused = len(students) - len(todo)
        if reused:
            print(
                f"{reused} 件は前回の採点結果を使います (already graded; --force で再採点)",
                file=out,
            )
        by_student = {sub["student"]: sub for sub in todo}
        if options.scheduler:
            results = _dask_results(bundle, todo, options.scheduler)
        else:
            results = _run_local(bundle, todo, max(1, options.workers))
        bar = tqdm(
            total=len(todo),
            desc=f"採点 {assignment}",
            unit="件",
            disable=not options.progress or not todo,
            file=sys.stderr,
        )
        problems = 0
        stop_ticker = threading.Event()

        def tick() -> None:
            while not stop_ticker.wait(1.0):
                waiting = _waiting_for()
                if waiting:
                    bar.set_postfix_str(f"問題あり {problems}, {waiting}")

        ticker = threading.Thread(target=tick, daemon=True)
        if options.progress:
            ticker.start()
        try:
            for result in results:
                sub = by_student[result["student"]]
                merge_started = time.monotonic()
                course.merge(assignment, result)
                result.setdefault("phases", {})["merge"] = round(
                    time.monotonic() - merge_started, 3
                )
                entry = _entry(course, bundle, sub, result)
                journal.append(entry)
                problems += bool(entry["reasons"])
                bar.set_postfix_str(f"問題あり {problems}")
                bar.update()
        finally:
            stop_ticker.set()
            bar.close()
        latest = journal.entries()
        entries = {s: _current(course, assignment, latest[s]) for s in students if s in latest}
        csv_path = write_csv(course.state_dir(assignment) / "grades.csv", entries)
        write_repairs(course.state_dir(assignment) / "repairs.csv", entries)
        summary = Summary(assignment, entries, len(todo), csv_path)
    print_summary(summary, out)
    return summary


def write_csv(path: Path, entries: dict[str, dict]) -> Path:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student_id",
                "score",
                "max_score",
                "late_penalty",
                "needs_manual_grade",
                "notebooks",
                "reasons",
                "repairs",
            ]
        )
        for student, entry in entries.items():
            writer.writerow(
                [
                    student,
                    f"{entry['score']:g}",
                    f"{entry['max_score']:g}",
                    f"{entry['penalty']:g}",
                    entry["needs_manual_grade"],
                    " ".join(f"{k}:{v}" for k, v in entry["notebooks"].items()),
                    " | ".join(entry["reasons"]),
                    " | ".join(entry.get("repairs", [])),
                ]
            )
    os.replace(tmp, path)
    return path


def write_repairs(path: Path, entries: dict[str, dict]) -> Path:
    """grading/<a>/repairs.csv: what was put right before grading, one row per repair."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "repair"])
        for student, entry in entries.items():
            for repair in entry.get("repairs", []):
                writer.writerow([student, repair])
    os.replace(tmp, path)
    return path


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _tampering(entries: dict[str, dict]) -> int:
    """Submissions with a reason from the test guard or the static scan (see kernel_guard)."""
    from dlcourse.grading.integrity import TAMPER_LABEL

    return sum(any(TAMPER_LABEL in r for r in e["reasons"]) for e in entries.values())


def print_summary(summary: Summary, out=sys.stdout) -> None:
    entries = summary.entries
    print(f"\n== 採点結果: {summary.assignment} ==", file=out)
    if not entries:
        print("提出がありません (no submissions)", file=out)
        return
    scores = [e["score"] - e["penalty"] for e in entries.values()]
    top = max(e["max_score"] for e in entries.values())
    manual = sum(1 for e in entries.values() if e["needs_manual_grade"])
    repaired = sum(bool(e.get("repairs")) for e in entries.values())
    rows = [
        ("採点した学生 (students graded)", f"{len(entries)} (今回 {summary.graded_now})"),
        ("平均点 (mean)", f"{statistics.mean(scores):.2f} / {top:g}"),
        ("中央値 (median)", f"{statistics.median(scores):.2f} / {top:g}"),
        ("手動採点待ち (needs manual grading)", f"{manual}"),
        ("問題のあった提出 (failures)", f"{len(summary.problems)}"),
        ("要確認: テストの実行への干渉 (tampering)", f"{_tampering(entries)}"),
        ("修復してから採点した提出 (repaired)", f"{repaired}"),
    ]
    width = max(_width(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {_pad(label, width)}  {value}", file=out)
    if summary.problems:
        print("\n  学生 (student)        点数      理由 (reason)", file=out)
        for student, entry in summary.problems.items():
            score = f"{entry['score']:g}/{entry['max_score']:g}"
            reasons = entry["reasons"]
            print(f"  {_pad(student, 20)}  {score:>8}  {reasons[0]}", file=out)
            for reason in reasons[1:]:
                print(f"  {'':20}  {'':>8}  {reason}", file=out)
    if any(e.get("repairs") for e in entries.values()):
        print(
            "\n  修復の内容 (削除・編集されたテストセルを戻した、など): "
            f"{summary.csv_path.with_name('repairs.csv')}",
            file=out,
        )
    print(f"\ngrades.csv: {summary.csv_path}", file=out)
