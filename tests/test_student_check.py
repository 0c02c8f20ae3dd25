"""``dlcourse check``: the students' pre-submission check exits non-zero when a test fails.

``nbgrader validate`` prints "VALIDATION FAILED" and exits 0 (and students do not install
nbgrader). ``dlcourse check NOTEBOOK`` runs the notebook in a fresh kernel and exits 1
when a visible test fails. Both runs here import nothing from nbgrader: the interpreter is
started with ``nbgrader`` blocked in ``sys.modules``, as on a student's machine without it.
The notebooks are chapter 01's release with the reference answers filled in, and the same
with one wrong answer.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
from harness import EXERCISES, env_with_venv, grade_id, reference_answers

CHAPTER = "01_tensors"
NO_GRADER = (
    "import sys; sys.modules['nbgrader'] = None; "
    "from dlcourse.cli import main; sys.exit(main(['check', sys.argv[1]]))"
)


def student_notebook(folder: Path, **answers: str) -> Path:
    """The release of the chapter with the reference (or the given) answers filled in."""
    nb = nbformat.read(EXERCISES / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    sources = {**reference_answers(CHAPTER), **answers}
    for cell in nb.cells:
        if grade_id(cell) in sources:
            cell.source = sources[grade_id(cell)]
    path = folder / f"{CHAPTER}.ipynb"
    nbformat.write(nb, path)
    return path


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_GRADER, path.name],
        cwd=path.parent,
        env=env_with_venv(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_check_exits_0_on_the_reference(tmp_path):
    path = student_notebook(tmp_path)
    before = path.read_bytes()
    done = check(path)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "✘" not in done.stdout
    assert "10 個中 10 個が通りました" in done.stdout, done.stdout
    assert "linear_layer_shapes がまだ書かれていません" in done.stdout  # a reminder, not a failure
    assert path.read_bytes() == before  # nothing written back


def test_check_exits_1_and_names_the_failing_test(tmp_path):
    path = student_notebook(tmp_path, to_numpy="def to_numpy(t):\n    return t\n")
    done = check(path)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    failing = {
        line.split()[1]
        for line in done.stdout.splitlines()
        if re.match(r"  ✘ \w+ \(\d+ 点\)", line)
    }
    assert failing == {"to_numpy_values_and_dtype", "to_numpy_is_a_copy"}, done.stdout
    assert "np.ndarray を返すべきですが、Tensor が返りました" in done.stdout  # the test's message
    assert "  ✔ linear_combination_example" in done.stdout
    assert "直してから提出してください" in done.stdout
