"""Grading integrity (issue 14): no points without solving, no hidden tests in any feedback.

One ``dlgrader grade`` run, with real sandboxed kernels, grades a small assignment whose
tests use imported helpers (``isclose``, ``math.fsum``) for: the reference, the untouched
student version, and one student per attack. Each attack leaves the graded functions
unsolved or wrong and tries to get points anyway, or to see what she must not (hidden
tests, the course tree, classmates' work). Then ``nbgrader generate_feedback`` must
give every student a page without a hidden line.
"""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from grading_fixtures.tinycourse import dlcourse, make_course_with
from harness import cell_scores, grade_id, nbgrader

ASSIGNMENT = "guarded"
HIDDEN_LINES = (
    'assert isclose(area(2.0), 12.566370614359172), "半径 2 の面積"',
    'assert total([0.1] * 10) == 1.0, "0.1 を 10 個"',
)
REFERENCE = {
    "area": "def area(r):\n    return math.pi * r * r\n",
    "total": "def total(values):\n    return math.fsum(values)\n",
}
WRONG = {
    "area": "def area(r):\n    return 3 * r * r\n",
    "total": "def total(values):\n    return sum(values) + 1\n",
}


def _cell(kind: str, source: str, **nbgrader_meta) -> nbformat.NotebookNode:
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    if nbgrader_meta:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader_meta}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    def solution(name, body):
        return _cell(
            "code",
            f"{body.splitlines()[0]}\n    ### BEGIN SOLUTION\n"
            + "\n".join(body.splitlines()[1:])
            + "\n    ### END SOLUTION",
            grade=False,
            solution=True,
            locked=False,
            grade_id=name,
        )

    def test(name, points, visible, hidden):
        return _cell(
            "code",
            f'"""{name} checks."""\n{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n'
            "### END HIDDEN TESTS\nprint('✔ ok')",
            grade=True,
            solution=False,
            locked=True,
            grade_id=name,
            points=points,
        )

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.cells = [
        _cell("markdown", "# 守られた演習 (guarded)"),
        _cell("code", "import math\nfrom math import isclose"),
        solution("area", REFERENCE["area"]),
        test(
            "test_area",
            2,
            'assert isclose(area(1.0), math.pi), "半径 1 の面積は π"',
            HIDDEN_LINES[0],
        ),
        solution("total", REFERENCE["total"]),
        test(
            "test_total",
            2,
            'assert isclose(total([1.0, 2.0]), 3.0), "1 + 2"',
            HIDDEN_LINES[1],
        ),
    ]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index:03d}"
    return nb


def make_course(tmp: Path) -> Path:
    return make_course_with(tmp, ASSIGNMENT, source_notebook())


def submission(course: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def submit(course: Path, student: str, nb) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def attack(prefix: str, answers: dict[str, str] | None = None) -> dict[str, str]:
    """Wrong answers, with ``prefix`` at the top of the first answer cell."""
    answers = dict(answers or WRONG)
    answers["area"] = prefix + "\n" + answers["area"]
    return answers


# technique -> the first answer cell's prefix (the rest is wrong or unsolved)
ATTACKS = {
    "input_transformer": (
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"
    ),
    "ast_transformer": (
        "import ast\n"
        "class Empty(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        node.body = []\n"
        "        return node\n"
        "get_ipython().ast_transformers.append(Empty())"
    ),
    "run_cell_wrapper": (
        "_shell = get_ipython()\n"
        "_original = _shell.run_cell\n"
        "def _quiet(raw_cell, *args, **kwargs):\n"
        "    try:\n"
        "        return _original('try:\\n' + ''.join('    ' + l + '\\n' for l in"
        " raw_cell.splitlines()) + 'except BaseException:\\n    pass\\n', *args, **kwargs)\n"
        "    except BaseException:\n"
        "        pass\n"
        "_shell.run_cell = _quiet"
    ),
    "post_run_hook": (
        "_shell = get_ipython()\n"
        "def _clear(result):\n"
        "    result.error_in_exec = None\n"
        "    result.error_before_exec = None\n"
        "_shell.events.register('post_run_cell', _clear)\n"
        "_shell.showtraceback = lambda *a, **k: None\n"
        "_shell._showtraceback = lambda *a, **k: None"
    ),
    "do_execute_replaced": (
        "_kernel = get_ipython().kernel\n"
        "async def _fake(*args, **kwargs):\n"
        "    return {'status': 'ok', 'execution_count': 1, 'user_expressions': {}, 'payload': []}\n"
        "_kernel.do_execute = _fake"
    ),
    "helper_rebound": "isclose = lambda *args, **kwargs: True",
    "module_patched": "math.isclose = lambda *args, **kwargs: True\nisclose = math.isclose",
    "builtin_patched": "import builtins\nbuiltins.sum = lambda values, start=0: 1.0",
    "settrace": (
        "import sys\ndef _trace(frame, event, arg):\n    return None\nsys.settrace(_trace)"
    ),
}
# Attempts to read what a student must never see; each prints what it found.
READERS = {
    "hook_echo": (
        "get_ipython().events.register('pre_run_cell', lambda info: print(info.raw_cell))"
    ),
    "history_echo": None,  # prints In / _ih in the second answer cell (after test_area)
    "stash_during_test": (
        "import sys\n"
        "_seen = []\n"
        "def area(r):\n"
        "    _seen.append(get_ipython().history_manager.input_hist_raw[-1])\n"
        "    frame = sys._getframe(1)\n"
        "    raise ValueError('leak ' + str(frame.f_code.co_consts))\n"
    ),
    "tree_walker": None,  # walks every folder it can reach and prints hidden-test files
}
TREE_WALKER = (
    "import os\n"
    "found = []\n"
    "for start in ['/', '/tmp', os.path.expanduser('~'), '../../../..', '../../../../..']:\n"
    "    for folder, _, files in os.walk(start):\n"
    "        if folder.startswith(('/proc', '/sys', '/usr', '/dev')):\n"
    "            continue\n"
    "        for name in files:\n"
    "            path = os.path.join(folder, name)\n"
    "            try:\n"
    "                with open(path, 'rb') as handle:\n"
    "                    data = handle.read(2_000_000)\n"
    "            except OSError:\n"
    "                continue\n"
    "            if b'HIDDEN TESTS' in data:\n"
    "                found.append(path)\n"
    "                print(path, data.decode('utf-8', 'replace')[:3000])\n"
    "print('found', len(found))\n"
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    course = make_course(tmp)
    submit(course, "reference", submission(course, REFERENCE))
    submit(course, "untouched", submission(course, {}))
    submit(course, "wrong", submission(course, WRONG))
    for name, prefix in ATTACKS.items():
        submit(course, name, submission(course, attack(prefix)))
    submit(course, "hook_echo", submission(course, attack(READERS["hook_echo"], REFERENCE)))
    history = dict(REFERENCE)
    history["total"] = REFERENCE["total"] + "print(In)\nprint(_ih)\nprint(_i, _ii, _iii)\n"
    submit(course, "history_echo", submission(course, history))
    stash = {"area": READERS["stash_during_test"], "total": REFERENCE["total"] + "print(_seen)"}
    submit(course, "stash_during_test", submission(course, stash))
    walker = dict(REFERENCE)
    walker["total"] = REFERENCE["total"] + TREE_WALKER
    submit(course, "tree_walker", submission(course, walker))
    warns = dict(REFERENCE)
    warns["area"] = (
        "import warnings\n"
        "def area(r):\n"
        "    warnings.warn('a library warning', UserWarning)\n"
        "    return math.pi * r * r\n"
    )
    submit(course, "warns", submission(course, warns))
    marker = dict(REFERENCE)
    marker["area"] = (
        REFERENCE["area"] + "print('### BEGIN HIDDEN TESTS')\n# ### BEGIN HIDDEN TESTS\n"
    )
    submit(course, "prints_marker", submission(course, marker))
    done = dlcourse(course, "grade", ASSIGNMENT, "--workers", "2", "--no-progress", timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    feedback = nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course)
    return course, done.stdout, feedback


def points(course: Path, student: str) -> float:
    return sum(score for score, _ in cell_scores(course, ASSIGNMENT, student).values())


def reasons(course: Path, student: str) -> str:
    path = course / "grading" / ASSIGNMENT / "grades.csv"
    rows = {row["student_id"]: row for row in csv.DictReader(open(path, encoding="utf-8"))}
    return rows[student]["reasons"]


def feedback_text(course: Path, student: str) -> str:
    path = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert path.exists(), f"{student} got no feedback page"
    text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    return " ".join(text.split())


def test_reference_and_controls(graded):
    course, _, _ = graded
    assert points(course, "reference") == 4
    assert points(course, "untouched") == 0
    assert points(course, "wrong") == 0
    for student in ("reference", "untouched", "wrong"):
        assert "要確認" not in reasons(course, student), reasons(course, student)


@pytest.mark.parametrize("technique", sorted(ATTACKS))
def test_tampering_earns_nothing_and_is_flagged(graded, technique):
    """Each technique gets no more than the untouched notebook, and the instructor is told."""
    course, _, _ = graded
    assert points(course, technique) == 0, cell_scores(course, ASSIGNMENT, technique)
    assert "要確認: テストの実行への干渉" in reasons(course, technique), reasons(course, technique)


@pytest.mark.parametrize("student", sorted(READERS) + ["prints_marker", "reference"])
def test_no_hidden_line_in_any_feedback(graded, student):
    course, _, _ = graded
    text = feedback_text(course, student)
    for line in HIDDEN_LINES:
        assert " ".join(line.split()) not in text, f"{student}'s feedback shows {line!r}"
        assert "12.566370614359172" not in text and "[0.1] * 10" not in text


def test_readers_find_nothing_outside_their_folder(graded):
    """Course tree, gradebook copies, classmates: the kernel cannot read them."""
    course, _, _ = graded
    nb = nbformat.read(
        course / "autograded" / "tree_walker" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    printed = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "found 0" in printed, printed[-2000:]
    journal = course / "grading" / ASSIGNMENT / "journal.jsonl"
    entry = [json.loads(line) for line in journal.read_text().splitlines()][-1]
    if entry["isolation"].get("landlock"):
        assert entry["isolation"]["landlock"]["reads_confined"] is True


def test_history_and_stash_leak_nothing_into_the_autograded_notebook(graded):
    """The hidden sources are gone from In/_ih before later cells run."""
    course, _, _ = graded
    for student in ("history_echo", "hook_echo"):
        nb = nbformat.read(
            course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
        )
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        printed = "".join(out.get("text", "") for c in answers for out in c.get("outputs", []))
        assert "12.566370614359172" not in printed, printed[-1500:]


def test_every_student_gets_a_feedback_page(graded):
    course, _, _ = graded
    for student in (course / "submitted").iterdir():
        feedback_text(course, student.name)


def test_correct_students_with_unusual_code_are_not_flagged(graded):
    course, _, _ = graded
    for student in ("reference", "history_echo", "tree_walker", "prints_marker", "warns"):
        assert points(course, student) == 4, (student, cell_scores(course, ASSIGNMENT, student))


if __name__ == "__main__":  # pragma: no cover - run by hand to see the attack table
    sys.exit(pytest.main([__file__, "-q"]))
