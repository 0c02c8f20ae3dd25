"""`make bench`: how long the notebooks and the book take on this machine.

For every notebook of book/ and solutions/: the wall time of a full execution
in a fresh kernel next to the time of a bare notebook that only runs the same
imports (the floor: kernel start plus importing torch, matplotlib, ...), and
their ratio (target: under 3x). Then the clean and the cached (no change)
`jupyter-book build` times, and the chapter benchmarks in tools/bench_*.py.
The table is printed and written to _build/bench.md. Timings are measured,
never asserted by the test suite.
"""

import argparse
import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0


def import_lines(nb: nbformat.NotebookNode) -> str:
    """The top-level import statements of a notebook's code cells (not the install cell)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "%pip" in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.append(ast.get_source_segment(cell.source, node))
    return "\n".join(dict.fromkeys(lines))


def execution_time(nb: nbformat.NotebookNode, folder: Path) -> float:
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,
    ).execute()
    return time.perf_counter() - start


def bench_notebooks(paths: list[Path], repeat: int) -> list[tuple[str, float, float]]:
    rows = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(import_lines(nb))])
        full = min(
            execution_time(nbformat.read(path, as_version=4), path.parent) for _ in range(repeat)
        )
        floor = min(execution_time(floor_nb, path.parent) for _ in range(repeat))
        rows.append((str(path.relative_to(ROOT)), full, floor))
        print(f"  {path.relative_to(ROOT)}: {full:.1f} s (floor {floor:.1f} s)", flush=True)
    return rows


def bench_book() -> tuple[float, float]:
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    with tempfile.TemporaryDirectory() as out:
        command = [jupyter_book, "build", ".", "-W", "-n", "--keep-going", "--path-output", out]
        times = []
        for _ in range(2):  # clean, then cached with no change
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per notebook (the minimum counts)"
    )
    parser.add_argument("--skip-book", action="store_true", help="do not time the book build")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: book/ and solutions/")
    args = parser.parse_args()
    paths = [p.resolve() for p in args.notebooks] or (
        sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))
    )

    print("Executing notebooks ...", flush=True)
    rows = bench_notebooks(paths, args.repeat)
    report = ["| notebook | execution (s) | import floor (s) | ratio |", "|---|---:|---:|---:|"]
    over = []
    for name, full, floor in rows:
        ratio = full / floor
        report.append(f"| {name} | {full:.1f} | {floor:.1f} | {ratio:.2f}x |")
        if ratio >= TARGET_RATIO:
            over.append(name)
    if not args.skip_book:
        print("Building the book twice (clean, then cached) ...", flush=True)
        clean, cached = bench_book()
        report += ["", "| book build | time (s) |", "|---|---:|"]
        report += [
            f"| clean (executes book/) | {clean:.1f} |",
            f"| cached, no change | {cached:.1f} |",
        ]
    for script in sorted((ROOT / "tools").glob("bench_*.py")):
        if script.name == "bench_grade.py":
            continue  # `make bench-grade`: minutes of grading, run on its own
        print(f"Running {script.name} ...", flush=True)
        result = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True
        )
        report += ["", f"### {script.name}", "", result.stdout.strip()]
        if result.returncode != 0:
            over.append(f"{script.name} (exit {result.returncode}): {result.stderr.strip()[-300:]}")

    text = "\n".join(report)
    print("\n" + text)
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "bench.md").write_text(text + "\n", encoding="utf-8")
    if over:
        print(f"\nOver target ({TARGET_RATIO}x the import floor) or failing: {over}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
