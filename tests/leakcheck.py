"""The lines a student must never see: solution regions and hidden tests of solutions/."""

import nbformat
from harness import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    SOLUTIONS,
    region_lines,
    strip_region,
)

MIN_LENGTH = 30


def collapse(text: str) -> str:
    return " ".join(text.split())


def secret_lines(chapter: str = "*", solutions: bool = True, hidden: bool = True) -> dict[str, str]:
    """Collapsed secret line -> the notebook it comes from.

    Secrets are the lines of solution regions and/or hidden-test regions of
    one chapter (default: all). Lines that also stand outside the regions
    (visible to students anyway) and short lines (`return x`) are not secrets.
    """
    secrets, visible = {}, set()
    for path in sorted(SOLUTIONS.glob(f"{chapter}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            source = cell.source
            regions = []
            if solutions:
                regions += region_lines(source, BEGIN_SOLUTION, END_SOLUTION)
            if hidden:
                regions += region_lines(source, BEGIN_HIDDEN, END_HIDDEN)
            for line in regions:
                if len(collapse(line)) >= MIN_LENGTH and not collapse(line).startswith("#"):
                    secrets[collapse(line)] = path.name
            outside = strip_region(
                strip_region(source, BEGIN_SOLUTION, END_SOLUTION), BEGIN_HIDDEN, END_HIDDEN
            )
            visible.update(collapse(line) for line in outside.splitlines())
    return {line: name for line, name in secrets.items() if line not in visible}


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The secret lines found in ``text`` (compared with whitespace collapsed)."""
    flat = collapse(text)
    return [f"{name}: {line}" for line, name in secrets.items() if line in flat]
