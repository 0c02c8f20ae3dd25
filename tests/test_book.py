"""The HTML book: builds without warnings, has every page of _toc.yml, reveals no solution."""

import html as html_lib
import re
from pathlib import Path

import nbformat
import yaml
from harness import EXERCISES, ROOT
from leakcheck import leaks, secret_lines

# `built` (tests/conftest.py): the book built as `make book` does, once per test run.


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part["chapters"])
    walk(toc.get("chapters", []))
    return files


def page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n".join(cell.source for cell in nb.cells)
    text = path.read_text(encoding="utf-8", errors="ignore")
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text))


def test_every_chapter_of_the_syllabus_layout_is_in_the_toc():
    files = toc_files()
    for chapter in sorted(p.stem for p in (ROOT / "book").glob("[0-9]*.ipynb")):
        assert f"book/{chapter}" in files, f"book/{chapter}.ipynb is not in _toc.yml"
        assert f"exercises/{chapter}/{chapter}" in files, f"{chapter}'s exercise is not in _toc.yml"


def test_every_toc_page_is_built(built):
    missing = [f for f in toc_files() if not (built / f"{f}.html").exists()]
    assert not missing, f"pages of _toc.yml missing from the HTML: {missing}"
    assert (built / "index.html").exists()


def test_exercise_pages_are_shown_unexecuted(built):
    for page in built.glob("exercises/*/*.html"):
        text = page.read_text(encoding="utf-8")
        assert "NotImplementedError" in text, f"{page}: the stubs should be shown"
        assert "Traceback" not in text, f"{page}: the exercise notebook was executed"


def test_chapter_pages_offer_the_exercise_download(built):
    for chapter in sorted(p.stem for p in (ROOT / "book").glob("[0-9]*.ipynb")):
        text = (built / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        # tools/book_offline.py embeds the notebook itself (a data: URL) with its file name
        assert re.search(
            rf'download="{chapter}\.ipynb" href="data:application/x-ipynb\+json;base64,', text
        ), chapter


def test_no_solution_or_hidden_test_in_html_or_exercises(built):
    secrets = secret_lines()
    assert secrets, "no solution lines found: the check would be vacuous"
    found = []
    paths = [p for p in built.rglob("*") if p.suffix in {".html", ".ipynb", ".txt", ".js", ".json"}]
    paths += sorted(EXERCISES.glob("*/*.ipynb"))
    for path in paths:
        if path.is_file() and "_static" not in path.parts:
            found += [
                f"{path.relative_to(ROOT)}: {leak}" for leak in leaks(page_text(path), secrets)
            ]
    assert not found, "solution code or hidden tests visible to students:\n" + "\n".join(found[:20])


def test_leak_check_finds_solution_lines_in_the_sources():
    """Positive control: the check does find the secrets where they are."""
    secrets = secret_lines()
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        assert leaks(page_text(path), secrets), f"no secret line detected in {path}"
