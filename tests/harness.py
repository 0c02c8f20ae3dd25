"""Shared machinery of the test suite: paths, chapters, and a real nbgrader course.

Everything here drives the real tools (nbgrader's CLI and gradebook, Jupyter
kernels); nothing is mocked.
"""

import copy
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
BOOK = ROOT / "book"
CHAPTERS = sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").exists())
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Mistake:
    """A wrong answer: replacement sources for solution cells, and the graded cells it must fail.

    ``fails`` is the exact set of autograder cells that must lose points; every
    other graded cell must keep full marks, so a fixture proves that the
    tests catch the mistake *where it belongs*. ``says`` are words the
    feedback of those failing cells must contain (together): the name of the
    mistake as the student should read it (「転置」, 「zero_grad」, ...).
    """

    cells: dict[str, str]
    fails: frozenset[str] = field(default_factory=frozenset)
    says: tuple[str, ...] = ()

    def __init__(
        self,
        cells: dict[str, str],
        fails: set[str] | frozenset[str],
        says: tuple[str, ...] | list[str] | str = (),
    ):
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "fails", frozenset(fails))
        object.__setattr__(self, "says", (says,) if isinstance(says, str) else tuple(says))


def env_with_venv() -> dict[str, str]:
    """The environment for nbgrader: the interpreter's bin first on PATH (alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(args: list[str], cwd: Path, timeout: float = 2400) -> subprocess.CompletedProcess:
    """Run a command, failing with its output when it exits non-zero."""
    result = subprocess.run(
        args, cwd=cwd, env=env_with_venv(), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        # nbgrader logs a student's traceback where it happens and goes on with the others:
        # it is rarely in the last lines.
        start = result.stderr.find("Traceback")
        traceback = result.stderr[start : start + 4000] if start >= 0 else ""
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{traceback}\n...\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def nbgrader(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "nbgrader", *args], cwd)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def strip_region(source: str, begin: str, end: str) -> str:
    """Remove the lines from ``begin`` to ``end`` (inclusive)."""
    kept, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly inside ``begin`` ... ``end`` regions."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def reference_answers(chapter: str) -> dict[str, str]:
    """grade_id -> source of each code solution cell, solved (markers removed)."""
    nb = nbformat.read(SOLUTIONS / chapter / f"{chapter}.ipynb", as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            answers[meta["grade_id"]] = re.sub(
                rf"^[ \t]*({BEGIN_SOLUTION}|{END_SOLUTION})[^\n]*\n?", "", cell.source, flags=re.M
            )
    return answers


def load_mistakes(chapter: str) -> dict[str, Mistake]:
    """The wrong-answer fixtures of a chapter (tests/wrong_answers/<chapter>.py)."""
    path = ROOT / "tests" / "wrong_answers" / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MISTAKES


def make_course(tmp: Path, chapter: str) -> Path:
    """A fresh nbgrader course folder holding one chapter's source, released."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS / chapter, course / "solutions" / chapter)
    nbgrader(["generate_assignment", chapter, "--force"], course)
    return course


def submission(course: Path, chapter: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with the given solution cells filled in."""
    nb = nbformat.read(course / "exercises" / chapter / f"{chapter}.ipynb", as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def submit(course: Path, chapter: str, student: str, nb: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / chapter
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{chapter}.ipynb")


def cell_scores(course: Path, chapter: str, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (score, max_score) of every autograded cell, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(chapter, chapter, student)
        return {
            grade.name: (grade.score, grade.max_score)
            for grade in submission.grades
            if grade.cell.cell_type == "code"
        }


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failure_messages(course: Path, chapter: str, student: str) -> dict[str, str]:
    """grade_id -> the error text (name, message, traceback) each graded cell printed."""
    path = course / "autograded" / student / chapter / f"{chapter}.ipynb"
    nb = nbformat.read(path, as_version=4)
    messages = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not grade_id(cell):
            continue
        text = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                text += [output.get("ename", ""), output.get("evalue", "")]
                text += output.get("traceback", [])
            elif output.get("output_type") == "stream":
                text.append(output.get("text", ""))
        messages[grade_id(cell)] = ANSI.sub("", "\n".join(text))
    return messages


def gone(pid: int, seconds: float = 30) -> bool:
    """Whether ``pid`` ends within ``seconds`` (a killed sandbox ends asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False
