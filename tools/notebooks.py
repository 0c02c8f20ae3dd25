"""Authoring tools for the course's notebooks (not shipped to students).

    python tools/notebooks.py normalize PATH...   stable cell ids, no execution metadata
    python tools/notebooks.py execute PATH...     run in place, store outputs, normalize
    python tools/notebooks.py check PATH...       fail if a notebook is not normalized

``book/`` and ``solutions/`` keep their outputs (nbval compares them); cell ids
are derived from the cell's position so that ``exercises/`` regenerates byte
for byte.
"""

import argparse
import copy
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
EXECUTION_TIMEOUT = 600


def normalized(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy with stable ids, minimal metadata and no execution timings."""
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    # Widget state is dropped: its model ids change on every run, and the book
    # build stores its own when it executes the page.
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index:03d}"
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type == "code":
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def execute(path: Path) -> None:
    """Execute a notebook in its own folder and store outputs and widget state."""
    nb = read(path)
    client = NotebookClient(
        nb,
        timeout=EXECUTION_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
        record_timing=False,
        store_widget_state=True,  # False trips an nbclient KeyError on Output widgets
    )
    client.execute()
    write(normalized(nb), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["normalize", "execute", "check"])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    stale = []
    for path in args.paths:
        if args.command == "execute":
            print(f"executing {path}", flush=True)
            execute(path)
        elif args.command == "normalize":
            write(normalized(read(path)), path)
        elif path.read_text(encoding="utf-8") != nbformat.writes(normalized(read(path))) + "\n":
            stale.append(path)
    for path in stale:
        print(f"not normalized: {path} (run: python tools/notebooks.py normalize {path})")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
