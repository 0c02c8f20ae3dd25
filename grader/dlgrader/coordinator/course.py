"""The coordinator's view of an nbgrader course: configuration, bundle, gradebook.

Everything that touches the real course lives here, and only the coordinator process
calls it: it reads the configuration the way ``nbgrader`` does, exports what a worker
needs (:meth:`Course.make_bundle`), and merges a worker's result into the real gradebook
and ``autograded/`` folder with nbgrader's own ``SaveAutoGrades`` and
``AssignLatePenalties`` preprocessors (:meth:`Course.merge`), so the gradebook ends up
exactly as after ``nbgrader autograde``. What ``dlgrader grade`` itself writes goes to
``grading/<assignment>/`` (journal, ``grades.csv``, report).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from dlgrader.coordinator.preload import kernel_preload
from dlgrader.records import Bundle, Limits, Result, Submission

MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
MAX_SUBMITTED_FILE_BYTES = 50 * 1024 * 1024
# A notebook above the file cap is still graded when it fits once its stored outputs are
# cleared (nbgrader clears them before running anyway); past this size it is not read.
MAX_NOTEBOOK_READ_BYTES = 1024 * 1024 * 1024


def without_outputs(data: bytes) -> bytes | None:
    """The notebook ``data`` with every stored output and attachment removed, or None."""
    try:
        nb = json.loads(data)
        for cell in nb.get("cells", []):
            if "outputs" in cell:
                cell["outputs"] = []
            cell.pop("attachments", None)
    except (ValueError, AttributeError, TypeError):
        return None
    return json.dumps(nb, ensure_ascii=False, indent=1).encode()


def _answers_of(nb) -> dict[str, str]:
    """grade_id -> source of every solution cell (the student's answers) of a notebook."""
    answers = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id"):
            answers[meta["grade_id"]] = cell.source
    return answers


def _answers(path: Path) -> dict[str, str] | None:
    """The answers of a graded notebook on disk, or None when there is none to compare."""
    try:
        return _answers_of(nbformat.read(path, as_version=4))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


class CourseError(RuntimeError):
    """A problem with the course setup, reported to the instructor as is."""


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` through PATH: put this interpreter's bin first."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[:1] != [bindir]:
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


@dataclass
class Course:
    """An nbgrader course folder with its configuration loaded as nbgrader loads it."""

    root: Path
    coursedir: object  # nbgrader.coursedir.CourseDirectory
    config: object  # traitlets Config
    db_url: str

    @classmethod
    def load(cls, root: str | Path = ".", db_url: str | None = None) -> Course:
        from nbgrader.apps.baseapp import NbGrader

        ensure_tools_on_path()
        root = Path(root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise CourseError(
                f"{root} はコースのルートではありません (nbgrader_config.py がありません)。"
                "コースのルート (nbgrader_config.py のあるフォルダ) に移ってから実行してください "
                "(run dlgrader in the course root). 何も作成していません。"
            )
        previous = os.getcwd()
        os.chdir(root)
        try:
            app = NbGrader()
            app.initialize([])
        finally:
            os.chdir(previous)
        coursedir = app.coursedir
        coursedir.root = str(root)
        if db_url:
            coursedir.db_url = db_url
        return cls(root=root, coursedir=coursedir, config=app.config, db_url=coursedir.db_url)

    # -------------------------------------------------------------------- paths
    def path(self, kind: str, student: str, assignment: str) -> Path:
        directory = getattr(self.coursedir, f"{kind}_directory")
        return Path(self.coursedir.format_path(directory, student, assignment))

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.coursedir.course_id)

    def state_dir(self, assignment: str) -> Path:
        folder = self.root / "grading" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def default_timeout(self) -> int:
        value = self.config.get("Execute", {}).get("timeout", 30)
        return int(value) if value else 30

    def students(self, assignment: str) -> list[str]:
        """Students with a submission folder for the assignment, in name order."""
        pattern = self.path("submitted", "*", assignment)
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        found = []
        for folder in sorted(pattern.parent.parent.glob(f"*/{pattern.name}")):
            student = folder.parent.name
            if folder.is_dir() and not student.startswith(".") and student not in excluded:
                found.append(student)
        return found

    def known_assignments(self) -> list[str]:
        """Assignments in the gradebook or the source folder, without creating a gradebook."""
        names = set()
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", "."))
        if source.is_dir():
            names |= {p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))}
        if self._gradebook_exists():
            with self.gradebook() as gb:
                names |= {a.name for a in gb.assignments}
        return sorted(names)

    def _gradebook_exists(self) -> bool:
        prefix = "sqlite:///"
        if self.db_url.startswith(prefix):
            return Path(self.db_url[len(prefix) :]).is_file()
        return True  # a database server: opening it creates nothing here

    def check_assignment(self, assignment: str) -> None:
        """Fail with the exact command that fixes it when ``assignment`` cannot be graded.

        Runs before anything is written (no gradebook, lock or grading folder appears).
        """
        registered = False
        if self._gradebook_exists():
            from nbgrader.api import MissingEntry

            with self.gradebook() as gb:
                try:
                    gb.find_assignment(assignment)
                    registered = True
                except MissingEntry:
                    pass
        if registered:
            return
        known = self.known_assignments()
        if assignment in known:
            raise CourseError(
                f"課題 {assignment} が gradebook に登録されていません。次のコマンドで登録してから"
                f"再実行してください: `nbgrader generate_assignment {assignment} --force` "
                "(exercises/ は solutions/ から同じ内容で作り直されます) "
                "(assignment not in the gradebook)."
            )
        listed = ", ".join(known) if known else "(なし)"
        raise CourseError(
            f"課題 {assignment} はこのコースにありません (unknown assignment)。あるのは: {listed}"
        )

    # -------------------------------------------------------------------- export
    def definition(self, assignment: str) -> dict:
        """The assignment as the gradebook knows it (notebooks, cells, points, due date)."""
        from nbgrader.api import MissingEntry
        from sqlalchemy import text

        with self.gradebook() as gb:
            try:
                entry = gb.find_assignment(assignment)
            except MissingEntry:
                raise CourseError(
                    f"課題 {assignment} が gradebook にありません。先に "
                    f"`nbgrader generate_assignment {assignment} --force` を実行してください "
                    f"(assignment not in the gradebook)."
                ) from None
            notebooks = []
            for nb in sorted(entry.notebooks, key=lambda n: n.name):
                notebooks.append(
                    {
                        "name": nb.name,
                        # nbgrader restores it in submissions (OverwriteKernelspec)
                        "kernelspec": nb.kernelspec,
                        "source_cells": [
                            {
                                "name": c.name,
                                "cell_type": c.cell_type,
                                "locked": c.locked,
                                "source": c.source,
                                "checksum": c.checksum,
                            }
                            for c in sorted(nb.source_cells, key=lambda c: c.name)
                        ],
                        "grade_cells": [
                            {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type}
                            for c in sorted(nb.grade_cells, key=lambda c: c.name)
                        ],
                        "solution_cells": sorted(c.name for c in nb.solution_cells),
                        "task_cells": [
                            {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type}
                            for c in sorted(nb.task_cells, key=lambda c: c.name)
                        ],
                    }
                )
            duedate = entry.duedate.isoformat() if entry.duedate else None
            schema = gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if not notebooks:
            raise CourseError(f"課題 {assignment} にノートブックがありません (no notebooks)")
        return {"name": assignment, "duedate": duedate, "notebooks": notebooks, "schema": schema}

    def template_gradebook(self, definition: dict) -> bytes:
        """A SQLite gradebook holding only the assignment's definition."""
        from nbgrader.api import Gradebook

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "gradebook.db"
            name = definition["name"]
            # Stamp the schema version of the real gradebook first: nbgrader would otherwise
            # ask the `alembic` command for it, which takes seconds.
            with sqlite3.connect(path) as db:
                db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                db.execute("INSERT INTO alembic_version VALUES (?)", (definition["schema"],))
            with Gradebook(f"sqlite:///{path}", self.coursedir.course_id) as gb:
                duedate = definition["duedate"]
                gb.update_or_create_assignment(
                    name, duedate=datetime.datetime.fromisoformat(duedate) if duedate else None
                )
                for nb in definition["notebooks"]:
                    gb.update_or_create_notebook(nb["name"], name, kernelspec=nb.get("kernelspec"))
                    for cell in nb["source_cells"]:
                        fields = {k: v for k, v in cell.items() if k != "name"}
                        gb.update_or_create_source_cell(cell["name"], nb["name"], name, **fields)
                    for cell in nb["grade_cells"]:
                        gb.update_or_create_grade_cell(
                            cell["name"],
                            nb["name"],
                            name,
                            max_score=cell["max_score"],
                            cell_type=cell["cell_type"],
                        )
                    for cell in nb["solution_cells"]:
                        gb.update_or_create_solution_cell(cell, nb["name"], name)
                    for cell in nb["task_cells"]:
                        gb.update_or_create_task_cell(
                            cell["name"],
                            nb["name"],
                            name,
                            max_score=cell["max_score"],
                            cell_type=cell["cell_type"],
                        )
            return path.read_bytes()

    def make_bundle(self, assignment: str, limits: Limits, log_level: str = "WARN") -> Bundle:
        """Everything a stateless worker needs besides the submission itself."""
        from nbgrader.utils import find_all_files

        definition = self.definition(assignment)
        names = [nb["name"] for nb in definition["notebooks"]]
        release_dir = self.path("release", ".", assignment)
        release, code_cells = {}, 0
        for name in names:
            path = release_dir / f"{name}.ipynb"
            if not path.exists():
                raise CourseError(
                    f"配布版 {path} がありません。`nbgrader generate_assignment {assignment}` "
                    f"を実行してください (release notebook missing)."
                )
            release[name] = path.read_bytes()
            code_cells += sum(
                cell.cell_type == "code" for cell in nbformat.reads(release[name], 4).cells
            )
        source_dir = self.path("source", ".", assignment)
        source_files = {}
        if source_dir.is_dir():
            for filename in find_all_files(str(source_dir), self.coursedir.ignore + ["*.ipynb"]):
                source_files[os.path.relpath(filename, source_dir)] = Path(filename).read_bytes()
        config_path = self.root / "nbgrader_config.py"
        config = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        fingerprint = hashlib.sha256(
            json.dumps([definition, sorted(source_files)], sort_keys=True).encode()
            + b"".join(release[name] for name in names)
            + b"".join(source_files[k] for k in sorted(source_files))
        ).hexdigest()
        return Bundle(
            assignment=assignment,
            course_id=self.coursedir.course_id,
            notebooks=names,
            gradebook=self.template_gradebook(definition),
            release=release,
            source_files=source_files,
            config=config,
            code_cells=code_cells,
            directories={
                "source": self.coursedir.source_directory,
                "submitted": self.coursedir.submitted_directory,
                "autograded": self.coursedir.autograded_directory,
            },
            limits=limits,
            fingerprint=fingerprint,
            log_level=log_level,
            preload=kernel_preload(release),
        )

    def submission(self, assignment: str, student: str) -> Submission:
        """A student's submitted files as bytes (links skipped, sizes capped)."""
        folder = self.path("submitted", student, assignment)
        files, notes, total = {}, [], 0
        digest = hashlib.sha256()
        for path in sorted(folder.rglob("*")):
            rel = str(path.relative_to(folder))
            if path.is_symlink() or not path.is_file():
                if path.is_symlink():
                    notes.append(f"リンクは採点に使いません: {rel}")
                continue
            size = path.stat().st_size
            data = None
            if size > MAX_SUBMITTED_FILE_BYTES and path.suffix == ".ipynb":
                if size <= MAX_NOTEBOOK_READ_BYTES:
                    data = without_outputs(path.read_bytes())
                if data is not None and len(data) <= MAX_SUBMITTED_FILE_BYTES:
                    notes.append(f"保存された出力が大きすぎるため、出力を消して採点しました: {rel}")
                    size = len(data)
                else:
                    data = None
            too_big = size > MAX_SUBMITTED_FILE_BYTES and data is None
            if too_big or total + size > MAX_SUBMISSION_BYTES:
                notes.append(f"大きすぎるファイルは採点に使いません: {rel} ({size} bytes)")
                continue
            total += size
            data = path.read_bytes() if data is None else data
            files[rel] = data
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        return Submission(student=student, files=files, digest=digest.hexdigest(), notes=notes)

    # -------------------------------------------------------------------- merge
    def merge(self, assignment: str, result: Result) -> None:
        """Write one worker result into autograded/ and the gradebook (coordinator only)."""
        from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

        student = result.student
        dest = self.path("autograded", student, assignment)
        dest.parent.mkdir(parents=True, exist_ok=True)
        for stale in dest.parent.glob(f".{assignment}-*"):  # left by a crashed run
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{assignment}-", dir=dest.parent))
        permissions = 0o664 if self.coursedir.groupshared else 0o444
        # What the grader saw (the graded notebooks about to be replaced) and which cells
        # she had already resolved: a regrade keeps those unless the answer changed.
        seen = {name: _answers(dest / f"{name}.ipynb") for name in result.notebooks}
        resolved = self._resolved(assignment, student)
        for rel, data in result.files.items():
            target = (staging / rel).resolve()
            if staging.resolve() not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.chmod(target, permissions)
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(staging, dest)

        timestamp = self.coursedir.get_existing_timestamp(
            str(self.path("submitted", student, assignment))
        )
        with self.gradebook() as gb:
            gb.update_or_create_student(student)
            if timestamp:
                gb.update_or_create_submission(assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(assignment, student)
        for name, entry in result.notebooks.items():
            graded = dest / f"{name}.ipynb"
            if entry.state == "graded" and graded.exists():
                nb = nbformat.read(graded, as_version=4)
                resources = {
                    "nbgrader": {
                        "notebook": name,
                        "assignment": assignment,
                        "student": student,
                        "db_url": self.db_url,
                    }
                }
                SaveAutoGrades(config=self.config).preprocess(nb, resources)
                self._keep_resolved(assignment, student, name, nb, seen[name], resolved)
                AssignLatePenalties(config=self.config).preprocess(nb, resources)
            else:
                with self.gradebook() as gb:
                    submitted = gb.find_submission_notebook(name, assignment, student)
                    for grade in submitted.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
                    gb.db.commit()

    def _resolved(self, assignment: str, student: str) -> dict[tuple[str, str], object]:
        """(notebook, grade_id) -> auto_score of every grade the grader has resolved."""
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                return {}
            return {
                (nb.name, grade.name): grade.auto_score
                for nb in sub.notebooks
                for grade in nb.grades
                if not grade.needs_manual_grade
            }

    def _keep_resolved(
        self,
        assignment: str,
        student: str,
        name: str,
        nb,
        seen: dict[str, str] | None,
        resolved: dict[tuple[str, str], object],
    ) -> None:
        """Undo SaveAutoGrades' re-flagging of grades whose answer did not change.

        nbgrader flags every grade with a manual score for review again on each autograde.
        A written answer (a graded solution cell) stays resolved when its text is the one
        the grader saw; a test cell whose score the grader set stays resolved when every
        answer of the notebook and the test's own result are unchanged.
        """
        if not seen:
            return
        now = _answers_of(nb)
        with self.gradebook() as gb:
            submitted = gb.find_submission_notebook(name, assignment, student)
            for grade in submitted.grades:
                if not grade.needs_manual_grade or (name, grade.name) not in resolved:
                    continue
                if grade.name in now:
                    unchanged = grade.name in seen and seen[grade.name] == now[grade.name]
                else:
                    unchanged = seen == now and grade.auto_score == resolved[(name, grade.name)]
                if unchanged:
                    grade.needs_manual_grade = False
            gb.db.commit()

    def scores(self, assignment: str, student: str) -> dict:
        """Score, maximum and per-cell outcome of a submission, from the gradebook."""
        with self.gradebook() as gb:
            sub = gb.find_submission(assignment, student)
            cells = {}
            manual = 0
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.needs_manual_grade:
                        manual += 1
                    cells[f"{nb.name}/{grade.name}"] = (
                        grade.score,
                        grade.max_score,
                        grade.cell.cell_type,
                    )
            return {
                "score": float(sub.score),
                "max_score": float(sub.max_score),
                "penalty": float(sub.late_submission_penalty or 0.0),
                "needs_manual_grade": manual,
                "cells": cells,
            }
