"""``dlgrader grade``: grade every submission of an assignment, in parallel and isolated.

The coordinator (this module, one process) takes the course lock, exports the assignment
bundle, decides which submissions still need grading (the journal makes a re-run after a
crash resume where it stopped), hands them to an executor (local worker threads, or a
Dask cluster with ``--scheduler``), and merges each result into the gradebook as soon as
it arrives. An executor only returns :class:`~dlgrader.records.Result` records; only this
process writes the gradebook.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from dlgrader.coordinator.course import Course
from dlgrader.coordinator.journal import Journal
from dlgrader.coordinator.lock import RunLock
from dlgrader.coordinator.summary import Summary, print_summary, write_csv, write_repairs
from dlgrader.executors import pool
from dlgrader.plugins import private_api
from dlgrader.records import Bundle, Limits, Result, Submission

SLOW_SECONDS = 10.0  # from then on the progress bar names the submission it waits for


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

    def limits(self, default_timeout: int) -> Limits:
        timeout = self.timeout or default_timeout
        return Limits(
            timeout_seconds=timeout,
            memory_mb=self.memory_mb,
            cpu_seconds=self.cpu_seconds or 10 * timeout,
            file_mb=self.file_mb,
            processes=self.processes,
            max_cell_output_bytes=int(self.max_cell_output_mb * 1024 * 1024),
            block_network=self.block_network,
        )


class InFlight:
    """Submissions being graded right now, for the progress bar (executors report to it)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self, student: str) -> None:
        with self._lock:
            self._started[student] = time.monotonic()

    def finish(self, student: str) -> None:
        with self._lock:
            self._started.pop(student, None)

    def waiting_for(self) -> str:
        """「待ち: student (24 秒)」 for the longest-running submission past SLOW_SECONDS."""
        with self._lock:
            running = sorted(self._started.items(), key=lambda item: item[1])
        now = time.monotonic()
        if not running or now - running[0][1] < SLOW_SECONDS:
            return ""
        student, started = running[0]
        return f"待ち: {student} ({now - started:.0f} 秒)"


def _entry(course: Course, bundle: Bundle, sub: Submission, result: Result) -> dict:
    """The journal record of one merged submission."""
    reasons = list(sub.notes) + list(result.notes)
    repairs = list(result.repairs)
    states = {}
    timings = {}
    for name, info in result.notebooks.items():
        states[name] = info.state
        repairs += [f"{name}: {note}" for note in info.repairs]
        if info.reason:
            reasons.append(f"{name}: {info.reason}")
        reasons += [f"{name}: {note}" for note in info.notes]
        reasons += [f"{name}: {problem}" for problem in info.problems]
        if info.timings:
            timings[name] = info.timings
    error = result.error.strip()
    if error and not any(error.splitlines()[0] in reason for reason in reasons):
        reasons.append(f"採点プロセス: {error.splitlines()[0][:300]}")
    scores = course.scores(bundle.assignment, sub.student)
    return {
        "student": sub.student,
        "bundle": bundle.fingerprint,
        "digest": sub.digest,
        "score": scores["score"],
        "max_score": scores["max_score"],
        "penalty": scores["penalty"],
        "needs_manual_grade": scores["needs_manual_grade"],
        "notebooks": states,
        "reasons": reasons,
        "repairs": repairs,
        "seconds": result.wall_seconds,
        "worker": result.worker,
        "timings": timings,
        "phases": result.phases,
        "isolation": result.isolation,
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


def _to_grade(course: Course, bundle: Bundle, students: list[str], force: bool):
    """The submissions whose journal entry does not match their files and bundle."""
    previous = Journal(course.state_dir(bundle.assignment)).entries()
    todo = []
    for student in students:
        sub = course.submission(bundle.assignment, student)
        before = previous.get(student)
        if (
            not force
            and before
            and before.get("bundle") == bundle.fingerprint
            and before.get("digest") == sub.digest
            and course.path("autograded", student, bundle.assignment).is_dir()
        ):
            continue
        todo.append(sub)
    return todo


def _results(bundle: Bundle, todo: list[Submission], options: Options, in_flight: InFlight):
    if options.scheduler:
        from dlgrader.executors.dask import grade_on_cluster

        return grade_on_cluster(bundle, todo, options.scheduler)
    from dlgrader.executors.threads import grade_in_threads

    return grade_in_threads(bundle, todo, max(1, options.workers), in_flight)


def grade(options: Options, out=sys.stdout) -> Summary:
    """Grade the assignment (see the module docstring); returns the summary."""
    # nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every merge;
    # they say nothing to an instructor and break the progress bar.
    warnings.filterwarnings("ignore", message=r".*not in session.*", module="nbgrader")
    warnings.filterwarnings("ignore", message=r".*not in session.*")
    local = not options.scheduler
    if local and (Path(options.root) / "nbgrader_config.py").is_file():
        # The fork server and its kernel template import nbgrader and torch (about 6 s)
        # while this process loads the course and exports the bundle (about 2 s).
        pool.warm_up()
    try:
        # The merges' gradebooks share one SQLAlchemy engine (and its compiled statements).
        with private_api.one_engine_per_database():
            return _grade(options, out)
    finally:
        if local:
            pool.shutdown()


def _grade(options: Options, out) -> Summary:
    from tqdm import tqdm

    course = Course.load(options.root, options.db_url)
    assignment = options.assignment
    course.check_assignment(assignment)
    with RunLock(course.root, assignment):
        limits = options.limits(course.default_timeout())
        bundle = course.make_bundle(assignment, limits, options.log_level)
        journal = Journal(course.state_dir(assignment))
        students = course.students(assignment)
        todo = _to_grade(course, bundle, students, options.force)
        reused = len(students) - len(todo)
        if reused:
            print(
                f"{reused} 件は前回の採点結果を使います (already graded; --force で再採点)",
                file=out,
            )
        by_student = {sub.student: sub for sub in todo}
        in_flight = InFlight()
        results = _results(bundle, todo, options, in_flight)
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
                waiting = in_flight.waiting_for()
                if waiting:
                    bar.set_postfix_str(f"問題あり {problems}, {waiting}")

        ticker = threading.Thread(target=tick, daemon=True)
        if options.progress:
            ticker.start()
        try:
            for result in results:
                sub = by_student[result.student]
                merge_started = time.monotonic()
                course.merge(assignment, result)
                result.phases["merge"] = round(time.monotonic() - merge_started, 3)
                entry = _entry(course, bundle, sub, result)
                journal.append(entry)
                problems += bool(entry["reasons"])
                bar.set_postfix_str(f"問題あり {problems}")
                bar.update()
        finally:
            stop_ticker.set()
            bar.close()
        latest = journal.entries()
        # Entries merged just now hold the gradebook's scores already; those kept from an
        # earlier run are read again (manual grades may have changed them since).
        graded_now = set(by_student)
        entries = {
            s: latest[s] if s in graded_now else _current(course, assignment, latest[s])
            for s in students
            if s in latest
        }
        csv_path = write_csv(course.state_dir(assignment) / "grades.csv", entries)
        write_repairs(course.state_dir(assignment) / "repairs.csv", entries)
        summary = Summary(assignment, entries, len(todo), csv_path)
    print_summary(summary, out)
    return summary
