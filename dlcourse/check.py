"""``dlcourse check NOTEBOOK``: the students' check before they submit.

``nbgrader validate`` prints "VALIDATION FAILED" and still exits 0, and it needs nbgrader,
which students do not install. This check needs only what Jupyter brings (nbclient,
nbformat, ipykernel): it runs the notebook from the top in a fresh kernel, in the
notebook's folder, without saving anything, and reports every graded test cell (the
cells whose nbgrader metadata says ``grade`` and not ``solution``). It exits 1 when a test
cell fails or any other cell raises (a solution left as the stub raises
NotImplementedError), 0 otherwise. Only the visible tests run: the hidden ones are not in
the student's notebook.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STUBS = ("ここに解答を書いてください", "YOUR ANSWER HERE")
MAX_MESSAGE = 300


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _error(cell) -> str | None:
    """``Name: message`` of the cell's first error output, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = ANSI.sub("", str(output.get("evalue", ""))).strip()
            message = " ".join(message.split())
            if len(message) > MAX_MESSAGE:
                message = message[:MAX_MESSAGE] + "…"
            return f"{output.get('ename', 'Error')}: {message}" if message else output["ename"]
    return None


def _points(meta: dict) -> str:
    points = meta.get("points", 0)
    return f"{points:g} 点"


def check(path: Path, timeout: int = 600, out=sys.stdout) -> int:
    """Run ``path`` and print the report; the exit code (0: every test passed)."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        print(
            "dlcourse check には Jupyter (nbclient) が必要です: pip install jupyter",
            file=sys.stderr,
        )
        return 2
    path = path.resolve()
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        print(f"dlcourse check: {path} を読めません (cannot read the notebook): {exc}", file=out)
        return 2
    kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    print(
        f"{path.name} を新しいカーネルで最初から実行します (running it from the top) ...", file=out
    )
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - a dead kernel or a timeout is a failed check
        print(
            f"✘ 実行が途中で止まりました (execution stopped): {type(exc).__name__}: {exc}", file=out
        )
        return 1

    tests = failed = 0
    other_errors, unanswered = [], []
    for number, cell in enumerate(nb.cells, start=1):
        meta = _meta(cell)
        if cell.cell_type == "markdown":
            if meta.get("grade") and meta.get("solution"):
                if not cell.source.strip() or any(stub in cell.source for stub in STUBS):
                    unanswered.append(meta.get("grade_id", f"セル {number}"))
            continue
        if cell.cell_type != "code":
            continue
        error = _error(cell)
        if meta.get("grade") and not meta.get("solution"):
            tests += 1
            name = meta.get("grade_id", f"セル {number}")
            if error:
                failed += 1
                print(f"  ✘ {name} ({_points(meta)}): {error}", file=out)
            else:
                print(f"  ✔ {name} ({_points(meta)})", file=out)
        elif error:
            first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
            first = first if len(first) <= 40 else first[:40] + "…"
            other_errors.append((meta.get("grade_id") or f"セル {number} 「{first}」", error))

    for name, error in other_errors:
        print(f"  ✘ {name} (テスト以外のセル): {error}", file=out)
    for name in unanswered:
        print(f"  ! 記述問題 {name} がまだ書かれていません (unanswered written answer)", file=out)
    passed = tests - failed
    print(f"\n表示されているテスト: {tests} 個中 {passed} 個が通りました。", file=out)
    if failed or other_errors:
        print(
            f"✘ 通らないテストが {failed} 個、エラーで止まったほかのセルが {len(other_errors)} 個"
            "あります。直してから提出してください (exit 1)。",
            file=out,
        )
        return 1
    print(
        "✔ すべてのテストが通りました (exit 0)。提出後は同じ観点の隠しテストも実行されます。",
        file=out,
    )
    return 0
