"""The records that cross a process boundary, one dataclass each, one serialisation each.

=================  ======================================  ===============================
record             from -> to                              serialisation
=================  ======================================  ===============================
:class:`Limits`    command line -> kernel launcher         ``to_dict`` (JSON: job.json,
                                                           the kernel manager, limits.json)
:class:`Bundle`    coordinator -> executors (Dask too)     pickle (Dask) / in memory
:class:`Submission`  coordinator -> executors              pickle (Dask) / in memory
:class:`Job`       executor (parent) -> job child          ``to_json`` (JOB/job.json)
:class:`Result`    job child -> executor -> coordinator    ``to_json`` (JOB/result.json),
                                                           then pickle (Dask) / in memory
=================  ======================================  ===============================

Units are fixed by the field names (``_seconds``, ``_mb``, ``_bytes``) and never change on the
way. This module imports only the standard library.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

# How the summary and grades.csv name a submission that interfered with its tests (the
# kernel's guard and the static scan both report under it).
TAMPER_LABEL = "要確認: テストの実行への干渉"


@dataclass(frozen=True)
class Limits:
    """What one student's kernel may use."""

    timeout_seconds: int  # per cell (nbgrader's Execute.timeout)
    memory_mb: int = 2048  # RLIMIT_DATA of the kernel
    cpu_seconds: int = 0  # RLIMIT_CPU of the kernel (0: 10 x timeout)
    file_mb: int = 200  # RLIMIT_FSIZE
    processes: int = 256  # processes and threads the kernel may start (fork bombs)
    max_cell_output_bytes: int = 2 * 1024 * 1024  # per cell, cut in the kernel
    block_network: bool = True
    landlock: bool = True

    def __post_init__(self) -> None:
        if not self.cpu_seconds:
            object.__setattr__(self, "cpu_seconds", 10 * self.timeout_seconds)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Limits:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Bundle:
    """Everything a stateless worker needs besides the submission (one per assignment)."""

    assignment: str
    course_id: str
    notebooks: list[str]
    gradebook: bytes  # a SQLite gradebook holding only the assignment's definition
    release: dict[str, bytes]  # notebook name -> released notebook
    source_files: dict[str, bytes]  # extra files of the source folder
    config: str  # the course's nbgrader_config.py
    code_cells: int
    directories: dict[str, str]  # source / submitted / autograded folder patterns
    limits: Limits
    fingerprint: str  # changes when anything that decides a grade changes
    log_level: str = "WARN"
    # the kernel template's optional modules that these notebooks import (None: all)
    preload: list[str] | None = None

    def wall_seconds(self) -> float:
        """Seconds after which a whole submission is stopped, whatever it does."""
        per_cell = self.limits.timeout_seconds + 15  # a cell, its interrupt, the probe after
        return per_cell * (self.code_cells + 2) + 60


@dataclass(frozen=True)
class Submission:
    """One student's submitted files (links skipped, sizes capped by the coordinator)."""

    student: str
    files: dict[str, bytes]
    digest: str  # sha256 over names and contents: unchanged files are not regraded
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """What the job child reads from JOB/job.json: the bundle minus the bytes."""

    assignment: str
    student: str
    course_id: str
    notebooks: list[str]
    directories: dict[str, str]
    limits: Limits
    log_level: str = "WARN"

    @classmethod
    def of(cls, bundle: Bundle, submission: Submission) -> Job:
        return cls(
            assignment=bundle.assignment,
            student=submission.student,
            course_id=bundle.course_id,
            notebooks=list(bundle.notebooks),
            directories=dict(bundle.directories),
            limits=bundle.limits,
            log_level=bundle.log_level,
        )

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "limits": self.limits.to_dict()})

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        return cls(**{**data, "limits": Limits.from_dict(data["limits"])})


@dataclass
class NotebookResult:
    """How one notebook of a submission went."""

    # graded | error | missing | unreadable
    state: str = "error"
    reason: str = ""  # why it was not graded (empty when graded)
    notes: list[str] = field(default_factory=list)  # failures to report (tampering, ...)
    repairs: list[str] = field(default_factory=list)  # put right before grading
    problems: list[str] = field(default_factory=list)  # what the guarded executor saw
    timings: dict = field(default_factory=dict)  # kernel start, per cell, guard

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class Result:
    """What grading one submission produced; only the coordinator writes it anywhere."""

    student: str
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    isolation: dict = field(default_factory=dict)  # what the sandbox applied
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    error: str = ""  # a crash of the grading process or the watchdog, with its log
    seconds: float = 0.0  # in the job child
    wall_seconds: float = 0.0  # in the executor, job folder included
    worker: str = ""  # host:pid of the executor
    files: dict[str, bytes] = field(default_factory=dict)  # the autograded folder

    @classmethod
    def failed(cls, student: str, notebooks: list[str], reason: str, detail: str = "") -> Result:
        """Every notebook in error with ``reason`` (the grading of it did not finish)."""
        return cls(
            student=student,
            notebooks={name: NotebookResult(state="error", reason=reason) for name in notebooks},
            error=f"{reason}\n{detail}" if detail else reason,
        )

    def to_json(self) -> str:
        """The JSON of JOB/result.json (without the files: they stay in JOB/out)."""
        data = asdict(self)
        data.pop("files")
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Result:
        data = json.loads(text)
        data["notebooks"] = {
            name: NotebookResult.from_dict(entry) for name, entry in data["notebooks"].items()
        }
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
