"""A tiny nbgrader course for the grading tests: pure Python, so kernels start in a blink.

Three graded functions (``add`` 1 point, ``square`` 2 points, ``greet`` 1 point) and one
manually graded written answer (1 point). Submissions are built from the released
notebook by filling in the solution cells, the way a student would.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from harness import ROOT, env_with_venv, grade_id, nbgrader

ASSIGNMENT = "tiny"
AUTO_POINTS = 4.0  # add 1 + square 2 + greet 1
TOTAL_POINTS = 5.0  # + the written answer

GOOD = {
    "add": "def add(a, b):\n    return a + b\n",
    "square": "def square(x):\n    return x * x\n",
    "greet": 'def greet(name):\n    return f"こんにちは、{name}"\n',
}
WRONG_SQUARE = "def square(x):\n    return 2 * x\n"


def _code(source: str, **nbgrader) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def _solution(name: str, body: str) -> nbformat.NotebookNode:
    source = f"def {name}\n    ### BEGIN SOLUTION\n{body}    ### END SOLUTION"
    return _code(source, grade=False, solution=True, locked=False, grade_id=name.split("(")[0])


def _test(grade: str, points: float, source: str) -> nbformat.NotebookNode:
    return _code(source, grade=True, solution=False, locked=True, grade_id=grade, points=points)


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    answer = nbformat.v4.new_markdown_cell(
        "### BEGIN SOLUTION\n足し算は順序によらないから。\n### END SOLUTION"
    )
    answer.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": True,
        "solution": True,
        "locked": False,
        "grade_id": "explain",
        "points": 1,
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 小さな演習 (tiny)"),
        _code("import math"),
        _solution("add(a, b):", "    return a + b\n"),
        _test(
            "test_add",
            1,
            '"""add adds."""\nassert add(1, 2) == 3, "add(1, 2) は 3 のはずです"\n'
            "### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS",
        ),
        _solution("square(x):", "    return x * x\n"),
        _test(
            "test_square",
            2,
            '"""square squares."""\n'
            'assert square(3) == 9, f"square(3) は 9 のはずですが {square(3)} でした"\n'
            "### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS",
        ),
        _solution("greet(name):", '    return f"こんにちは、{name}"\n'),
        _test("test_greet", 1, '"""greet greets."""\nassert greet("太郎") == "こんにちは、太郎"'),
        nbformat.v4.new_markdown_cell("足し算の順序を入れ替えてもよいのはなぜですか。"),
        answer,
    ]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index:03d}"
    return nb


def make_course_with(tmp: Path, assignment: str, source: nbformat.NotebookNode) -> Path:
    """A fresh course whose one assignment is ``source``, generated (gradebook and release)."""
    course = tmp / "course"
    (course / "solutions" / assignment).mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    nbformat.write(source, course / "solutions" / assignment / f"{assignment}.ipynb")
    nbgrader(["generate_assignment", assignment, "--force"], course)
    return course


def make_tiny_course(tmp: Path) -> Path:
    """A fresh course with the tiny assignment generated (gradebook and release)."""
    return make_course_with(tmp, ASSIGNMENT, source_notebook())


def released(course: Path) -> nbformat.NotebookNode:
    return nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def answered(course: Path, **cells: str) -> nbformat.NotebookNode:
    """The released notebook with solution cells filled in (GOOD unless overridden)."""
    nb = copy.deepcopy(released(course))
    sources = {**GOOD, **cells}
    for cell in nb.cells:
        if grade_id(cell) in sources:
            cell.source = sources[grade_id(cell)]
    return nb


def submit_notebook(course: Path, student: str, nb, name: str = f"{ASSIGNMENT}.ipynb") -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder


def submit_bytes(course: Path, student: str, name: str, data: bytes) -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder


def dlcourse(
    course: Path, *args: str, timeout: float = 600, **popen
) -> subprocess.CompletedProcess:
    """Run the ``dlcourse`` command (as installed: ``python -m dlgrader``)."""
    return subprocess.run(
        [sys.executable, "-m", "dlgrader", *args],
        cwd=course,
        env=env_with_venv(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every regular file under ``root`` (relative path -> content), minus ``skip`` prefixes."""
    files = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if not rel.startswith(skip):
                files[rel] = path.read_bytes()
    return files
