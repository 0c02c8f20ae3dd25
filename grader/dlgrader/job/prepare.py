"""The executor's side of a job: lay out the job folder, read back what the child left.

A job folder holds everything one submission's grading may see, and nothing else::

    JOB/job.json                      the Job record (what to grade, the limits)
    JOB/course/nbgrader_config.py     the course's configuration
    JOB/course/<source>/<assignment>/ extra files nbgrader copies next to the notebook
    JOB/course/submitted/<student>/<assignment>/   the submission
    JOB/release/<notebook>.ipynb      released notebooks (to restore deleted test cells)
    JOB/db/gradebook.db               the assignment's definition only
    JOB/k/                            the kernel's sockets, home and exit records
    JOB/result.json, JOB/out/         written by the child (:mod:`dlgrader.job.child`)

It never holds the real gradebook, other students' files or the course sources.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dlgrader.records import Bundle, Job, Result, Submission


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:
            continue  # never let a relative name climb out of its folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def materialize(bundle: Bundle, submission: Submission, base: str | None = None) -> Path:
    """Write the job folder for one submission and return it."""
    jobdir = Path(tempfile.mkdtemp(prefix="dlg-", dir=base))
    os.chmod(jobdir, 0o700)
    dirs = bundle.directories
    course = jobdir / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(bundle.config, encoding="utf-8")
    _write_files(course / dirs["source"] / bundle.assignment, bundle.source_files)
    sub = course / dirs["submitted"] / submission.student / bundle.assignment
    sub.mkdir(parents=True)
    _write_files(sub, submission.files)
    _write_files(jobdir / "release", {f"{n}.ipynb": d for n, d in bundle.release.items()})
    (jobdir / "db").mkdir()
    (jobdir / "db" / "gradebook.db").write_bytes(bundle.gradebook)
    (jobdir / "k").mkdir()
    (jobdir / "job.json").write_text(Job.of(bundle, submission).to_json(), encoding="utf-8")
    return jobdir


def _read_tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def read_result(jobdir: Path) -> Result | None:
    """The child's result with the autograded files, or None when it wrote none."""
    path = jobdir / "result.json"
    if not path.exists():
        return None
    result = Result.from_json(path.read_text(encoding="utf-8"))
    result.files = _read_tree(jobdir / "out")
    return result
