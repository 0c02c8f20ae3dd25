"""Manual grading as the README describes it (issue 18): ``dlgrader formgrader`` in Chromium.

Chapter 01 in a fresh course, two submissions graded by the real ``dlgrader grade``; then
the command the README gives (``dlgrader formgrader``) starts a real JupyterLab with
nbgrader's formgrader, and Chromium (Playwright, every request off the loopback interface
blocked and counted) opens the URL it prints, exactly as printed. On the submission page:
the written answer's rubric from ``solutions/`` is shown beside it, MathJax 2.7.7 comes from
the server and typesets the formulas, the grading form loads the scores, and a manual score
typed into it is saved to the gradebook and is there after a reload. The feedback that
``nbgrader generate_feedback`` writes afterwards carries that score and no rubric line.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from harness import (
    ROOT,
    env_with_venv,
    grade_id,
    make_course,
    nbgrader,
    reference_answers,
    submission,
    submit,
)
from test_browser import CHROMIUM, CHROMIUM_FLAGS, LOOPBACK, free_port, require_chromium

from dlgrader.formgrader import rubrics

CHAPTER = "01_tensors"
WRITTEN = "linear_layer_shapes"  # the chapter's written answer (考えてみよう 1.5)
ANSWER = (
    "$W$ は (出力, 入力) の形で保存されているので、$X W^\\top$ と転置して内側の次元を"
    "そろえます。$b$ はブロードキャストで $N$ 行すべてに足されます。"
)


def rubric_phrases(text: str) -> list[str]:
    """The rubric's runs of text (between Markdown marks) long enough to be its own words."""
    runs = re.split(r"[*`$\n]|^- ", text, flags=re.M)
    return [run.strip() for run in runs if len(run.strip()) >= 12]


def page_text(path: Path) -> str:
    """An HTML page's text, unescaped, tags removed, whitespace collapsed."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = make_course(tmp_path_factory.mktemp("formgrader"), CHAPTER)
    solved = submission(course, CHAPTER, reference_answers(CHAPTER))
    for cell in solved.cells:
        if grade_id(cell) == WRITTEN:
            cell.source = ANSWER
    submit(course, CHAPTER, "alice", solved)
    released = nbformat.read(course / "exercises" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    submit(course, CHAPTER, "bob", released)
    done = subprocess.run(
        [sys.executable, "-m", "dlgrader", "grade", CHAPTER, "--no-progress"],
        cwd=course,
        env=env_with_venv(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return course


@pytest.fixture(scope="module")
def formgrader(course):
    """``dlgrader formgrader`` as the README runs it; yields the URL it prints."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dlgrader", "formgrader", "--port", str(port)],
        cwd=course,
        env=env_with_venv(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url, ready, log = [], threading.Event(), []

    def read() -> None:
        for line in process.stdout:
            log.append(line)
            found = re.search(r"http://\S+/formgrader\?token=\w+", line)
            if found:
                url.append(found.group(0))
            if url and "is running at" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(180):
            pytest.fail("dlgrader formgrader did not start:\n" + "".join(log)[-3000:])
        yield url[0]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def chromium():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
                locale="ja-JP",
            )
            context.external = []

            def offline(route):
                if urlsplit(route.request.url).hostname in LOOPBACK:
                    route.continue_()
                else:
                    context.external.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            context.set_default_timeout(60_000)
            yield context
            context.close()


def submission_id(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(CHAPTER, CHAPTER, student).id


def manual_score(course: Path, student: str) -> float | None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_grade(WRITTEN, CHAPTER, CHAPTER, student).manual_score


def watch(page):
    """Collect the page's console errors, exceptions and failed requests in page.errors."""
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # (a request cut short by the next navigation is not a failure: net::ERR_ABORTED)
    page.on(
        "requestfailed",
        lambda r: (
            "ERR_ABORTED" not in (r.failure or "") and page.errors.append(f"{r.url} ({r.failure})")
        ),
    )
    page.on("response", lambda r: r.status >= 400 and page.errors.append(f"{r.url} {r.status}"))
    return page


def typeset(page):
    # formgrade.js selects the first field once MathJax has typeset the page.
    page.wait_for_function("() => window.MathJax && MathJax.loaded === true")
    return page


def open_submission(context, base: str, sub: str):
    page = watch(context.new_page())
    page.goto(f"{base}/formgrader/submissions/{sub}/", wait_until="load")
    return typeset(page)


def readme_manual_grading() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### 記述問題の採点")
    return text[start : text.index("\n## ", start)]


def test_formgrader_shows_the_rubric_typesets_formulas_and_saves_a_score(
    course, formgrader, chromium
):
    base = formgrader.split("/formgrader?")[0]
    readme = readme_manual_grading()
    assert "dlgrader formgrader" in readme
    assert "http://127.0.0.1:8888/formgrader?token=" in readme  # the form of the printed URL
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/formgrader\?token=[0-9a-f]{48}", formgrader)

    # README steps 1-2, by the names it gives: Manual Grading, the chapter, the notebook,
    # the submission
    page = watch(chromium.new_page())
    try:
        page.goto(formgrader, wait_until="load")  # the URL exactly as printed
        steps = [("Manual Grading", "/gradebook"), (CHAPTER, f"/gradebook/{CHAPTER}")]
        steps.append((CHAPTER, f"/gradebook/{CHAPTER}/{CHAPTER}"))
        for label, target in steps:
            assert label in readme
            link = page.locator(f'a[href$="/formgrader{target}"]').filter(has_text=label)
            link.first.click()
            page.wait_for_url(f"**/formgrader{target}")
        assert "Submission #1" in readme
        page.get_by_role("link", name="Submission #1").wait_for()
        alice = submission_id(course, "alice")  # listed anonymously, as "Submission #n"
        page.locator(f'a.name-hidden[href*="/formgrader/submissions/{alice}"]').click()
        page.wait_for_load_state("load")
        typeset(page)
        assert "Next →" in readme and page.get_by_text("Next →").is_visible()
        assert "採点基準 (講師だけに表示: solutions/<章>/<章>.ipynb より)" in readme
        assert page.evaluate("MathJax.version") == "2.7.7"
        mathjax = [
            src
            for src in page.evaluate("[...document.scripts].map(s => s.src)")
            if "MathJax" in src
        ]
        assert mathjax and all(src.startswith(f"{base}/dlgrader/mathjax/") for src in mathjax)
        assert page.locator(".MathJax_CHTML").count() >= 5  # the task's formulas and the answer
        assert "$W$" not in page.locator(f".nbgrader_cell:has(input#{WRITTEN})").inner_text()

        source = nbformat.read(course / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        rubric = page.locator(f'.dlcourse-rubric[data-grade-id="{WRITTEN}"]')
        assert rubric.is_visible()
        shown = " ".join(rubric.inner_text().split())
        phrases = rubric_phrases(rubrics(source)[WRITTEN])
        assert phrases and all(" ".join(p.split()) in shown for p in phrases), shown
        # beside the answer: the rubric comes right after the answer's grading panel
        assert page.evaluate(
            """(id) => document.getElementById(id).closest('.cell')
                   .nextElementSibling.classList.contains('dlcourse-rubric')""",
            WRITTEN,
        )

        # the form loads the automatic scores (the login cookie covers the API) ...
        page.wait_for_function(
            "() => document.querySelector('input.score').getAttribute('placeholder')"
        )
        first = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade"))
        shown = page.locator("input.score").first.get_attribute("placeholder")
        assert float(shown) == first.metadata.nbgrader.points  # the reference's full marks
        field = page.locator(f"input.score#{WRITTEN}")
        assert field.input_value() == ""
        field.fill("1.5")
        saving = lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"  # noqa: E731
        with page.expect_response(saving) as saved:
            field.press("Tab")
        assert saved.value.ok, saved.value.status
        assert not page.errors, page.errors
    finally:
        page.close()
    assert manual_score(course, "alice") == 1.5

    again = open_submission(chromium, base, submission_id(course, "alice"))
    try:
        assert again.locator(f"input.score#{WRITTEN}").input_value() == "1.5"
        assert not again.errors, again.errors
    finally:
        again.close()
    assert chromium.external == [], chromium.external


def test_no_feedback_page_contains_a_rubric_line(course):
    nbgrader(["generate_feedback", CHAPTER], course)
    source = nbformat.read(course / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    phrases = [p for text in rubrics(source).values() for p in rubric_phrases(text)]
    assert len(phrases) >= 3
    pages = sorted((course / "feedback").rglob("*.html"))
    assert [p.parent.parent.name for p in pages] == ["alice", "bob"]
    for page in pages:
        text = page_text(page)
        assert "ここに解答を書いてください" in text or "転置" in text  # the page has content
        leaked = [p for p in phrases if " ".join(p.split()) in text]
        assert not leaked, f"{page}: {leaked}"
        assert "採点基準" not in text
    released = (course / "exercises" / CHAPTER / f"{CHAPTER}.ipynb").read_text(encoding="utf-8")
    assert not [p for p in phrases if p in released]
