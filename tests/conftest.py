import fcntl
import os
import sys
from pathlib import Path

import pytest

# The wrong-answer fixtures import the harness by its module name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, run  # noqa: E402


@pytest.fixture(scope="session")
def built(testrun_uid: str) -> Path:
    """The HTML book, built as `make book` does, once per test run.

    It goes to _build/html, or under $BOOK_PATH_OUTPUT (jupyter-book's
    --path-output) when that is set, e.g. to keep a second build apart.
    Several files need it (test_book.py, test_browser.py) and pytest-xdist may
    run them on different workers: a file lock serializes the workers, and a
    marker with the run's id tells the later ones that the build is done.
    """
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n"]
    command.append("--keep-going")
    output = os.environ.get("BOOK_PATH_OUTPUT")
    if output:
        command += ["--path-output", output]
    build = Path(output or ROOT) / "_build"
    build.mkdir(parents=True, exist_ok=True)
    marker = build / ".built-by-test-run"
    with open(build / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not marker.exists() or marker.read_text() != testrun_uid:
                marker.unlink(missing_ok=True)
                run(command, ROOT, timeout=1800)
                marker.write_text(testrun_uid)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return build / "html"
