"""Write a notebook from a plain-text cell script (an authoring aid).

    python tools/nbauthor.py SCRIPT.txt NOTEBOOK.ipynb

The script is a sequence of cells, each opened by a header line:

    # %% md                                   markdown
    # %% code [tags=a,b]                      code (tags e.g. nbval-ignore-output, hide-input)
    # %% solution id=GRADE_ID                 nbgrader solution cell (autograded answer)
    # %% tests id=GRADE_ID points=N           nbgrader autograder tests (locked)
    # %% answer id=GRADE_ID points=N          nbgrader manually graded answer (markdown)
    # %% readonly id=GRADE_ID                 nbgrader read-only markdown

The written notebook is normalized (see tools/notebooks.py); it has no outputs
until ``python tools/notebooks.py execute`` stores them. The .ipynb file is the
source of truth afterwards; the script is not kept.
"""

import shlex
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebooks import normalized, write  # noqa: E402


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = float(points) if "." in str(points) else int(points)
    return meta


def make_cell(header: str, source: str) -> nbformat.NotebookNode:
    words = shlex.split(header)
    kind, options = words[0], dict(word.split("=", 1) for word in words[1:])
    tags = [tag for tag in options.get("tags", "").split(",") if tag]
    grade_id, points = options.get("id"), options.get("points")
    if kind == "md":
        cell = nbformat.v4.new_markdown_cell(source)
    elif kind == "code":
        cell = nbformat.v4.new_code_cell(source)
    elif kind == "solution":
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.nbgrader = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    elif kind == "tests":
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.nbgrader = _nbgrader(
            grade_id, grade=True, solution=False, locked=True, points=points
        )
    elif kind == "answer":
        cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata.nbgrader = _nbgrader(
            grade_id, grade=True, solution=True, locked=False, points=points
        )
    elif kind == "readonly":
        cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata.nbgrader = _nbgrader(grade_id, grade=False, solution=False, locked=True)
    else:
        raise SystemExit(f"unknown cell kind {kind!r} in header {header!r}")
    if tags:
        cell.metadata.tags = tags
    return cell


def parse(text: str) -> nbformat.NotebookNode:
    cells, header, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("# %% "):
            if header is not None:
                cells.append(make_cell(header, "\n".join(lines).strip("\n")))
            header, lines = line[5:], []
        else:
            lines.append(line)
    if header is not None:
        cells.append(make_cell(header, "\n".join(lines).strip("\n")))
    return normalized(nbformat.v4.new_notebook(cells=cells))


if __name__ == "__main__":
    script, target = map(Path, sys.argv[1:3])
    write(parse(script.read_text(encoding="utf-8")), target)
    print(f"wrote {target}")
