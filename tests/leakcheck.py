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


def secret_lines() -> dict[str, str]:
    """Collapsed secret line -> the notebook it comes from.

    Lines that also stand outside the regions (visible to students anyway)
    and short lines (`return x`) are not secrets.
    """
    secrets, visible = {}, set()
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            source = cell.source
            for line in region_lines(source, BEGIN_SOLUTION, END_SOLUTION) + region_lines(
                source, BEGIN_HIDDEN, END_HIDDEN
            ):
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
