"""The built book as a reader sees it: every page in a real browser, offline.

Playwright drives Debian's Chromium (headless; Playwright never downloads a
browser of its own). Every request that leaves the loopback interface is
blocked and counts as a failure, so the tests prove that the book needs no CDN.
For every page of _toc.yml: no console error, no failed request, equations
typeset by MathJax, images loaded, Japanese text drawn with a real font, each
widget showing its controls and its figure, and a screenshot under
_build/screenshots/. Then the Japanese search, and live code through
`make live`'s servers (tools/live.py). The book is the one `built` (conftest.py)
makes for the whole test run.
"""

import html
import html.parser
import http.server
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from harness import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost"}
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
LONG_CELL_LINES = 40  # longer code cells must be folded (hide-input): helper code
# Words a reader would search for, by chapter (checked when the chapter exists),
# on top of each chapter's own title.
SEARCH_WORDS = {
    "01_tensors": ["テンソル", "自動微分"],
    "05_backprop": ["誤差逆伝播"],
}


def toc_pages() -> list[str]:
    """Every page of _toc.yml, in reading order (without extension)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


def chapter_pages() -> list[str]:
    return [page for page in toc_pages() if re.fullmatch(r"book/\d\d_\w+", page)]


# ---------------------------------------------------------------------------
# Build checks that need no browser


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        for name in ("href", "src"):
            if attributes.get(name) and not (tag == "link" and attributes.get("rel") == "preload"):
                self.links.append(attributes[name])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_internal_links_resolve(built):
    """Every relative href/src of every page points to a file, and its #anchor exists."""
    pages = {path: _parse(path) for path in built.rglob("*.html") if "_static" not in path.parts}
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(built)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(built)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


def test_pages_load_no_script_or_style_from_the_network(built):
    """The pages' own <script src> and stylesheets are all files of the book."""
    remote = []
    for page in built.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        tags = re.findall(r"<script\b[^>]*\bsrc=[^>]*>", text)
        tags += [t for t in re.findall(r"<link\b[^>]*>", text) if 'rel="stylesheet"' in t]
        for tag in tags:
            if re.search(r'\b(?:src|href)="(?:https?:)?//', tag):
                remote.append(f"{page.relative_to(built)}: {tag[:120]}")
    assert not remote, "pages load assets from the network:\n" + "\n".join(remote[:20])


def test_chapter_pages_offer_launch_buttons_and_copy_buttons(built):
    for page in chapter_pages():
        text = (built / f"{page}.html").read_text(encoding="utf-8")
        for what, pattern in {
            "Colab": r'href="https://colab\.research\.google\.com/github/[^"]+\.ipynb"',
            "Binder": r'href="https://mybinder\.org/v2/gh/[^"]+"',
            "Live Code": r"initThebeSBT\(\)",
            "download of the page": r'href="[^"]*_sources/[^"]+\.ipynb"',
            "copy buttons": r"copybutton\.js",
        }.items():
            assert re.search(pattern, text), f"{page}: no {what}"


def test_long_helper_code_is_folded(built):
    """No code cell longer than LONG_CELL_LINES lines is shown unfolded (hide-input)."""
    too_long = []
    for page in chapter_pages():
        text = (built / f"{page}.html").read_text(encoding="utf-8")
        for cell in re.split(r'<div class="cell(?= |")', text)[1:]:
            head = cell[: cell.find(">")]
            source = re.search(r'<div class="cell_input.*?<pre>(.*?)</pre>', cell, re.S)
            if source and "tag_hide-input" not in head:
                lines = source.group(1).count("\n")
                if lines > LONG_CELL_LINES:
                    too_long.append(f"{page}: a {lines}-line code cell")
    assert not too_long, (
        "split these cells (one idea per cell) or, for helper code, fold them with the"
        " hide-input tag:\n" + "\n".join(too_long)
    )


def test_binder_installs_the_course_as_pinned():
    """binder/ (mybinder.org) pins the runtime packages as requirements.txt does."""

    def pins(path: Path) -> dict[str, str]:
        found = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#")[0].strip())
            if match:
                found[match.group(1).lower()] = match.group(2)
        return found

    course, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    for package in ("torch", "numpy", "matplotlib", "matplotlib-fontja", "ipywidgets"):
        assert binder.get(package) == course[package], f"binder/requirements.txt: {package}"
    assert set(binder) <= set(course), f"not in requirements.txt: {set(binder) - set(course)}"
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install .*-e \.", post_build.read_text()), "postBuild installs dlcourse"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


# ---------------------------------------------------------------------------
# The browser


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} がありません (apt-get install chromium fonts-noto-cjk)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI では必須です (.ci/run がインストールします)")
    pytest.skip(f"{message}: ブラウザのテストを飛ばします")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def book_url(built):
    """The built book over HTTP on the loopback interface, as a web server would serve it."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(built))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class Browser:
    """One Chromium for the whole module; each page opens in a new tab."""

    def __init__(self, context, screenshots: Path):
        self.context = context
        self.screenshots = screenshots
        self.external: list[str] = []

    def screenshot(self, page, name: str) -> None:
        """A full-page PNG under _build/screenshots/, next to the HTML."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=self.screenshots / f"{name.replace('/', '__')}.png", full_page=True)

    def open(self, url: str):
        """A new tab on ``url``, with lists of its console errors and failed requests."""
        page = self.context.new_page()
        page.errors, page.failed = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
        page.on("requestfailed", lambda r: page.failed.append(f"{r.url} ({r.failure})"))
        page.on(
            "response", lambda r: r.status >= 400 and page.failed.append(f"{r.url} ({r.status})")
        )
        page.goto(url, wait_until="load")
        return page


@pytest.fixture(scope="module")
def browser(built):
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
            session = Browser(context, built.parent / "screenshots")

            def offline(route):
                target = urlsplit(route.request.url)
                if target.hostname in LOOPBACK or target.scheme in ("file", "data"):
                    route.continue_()
                else:
                    session.external.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            context.set_default_timeout(60_000)
            yield session
            context.close()


def wait_until_rendered(page) -> None:
    """MathJax has typeset the page and the widget manager has drawn every widget."""
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                await MathJax.startup.promise;
            }
        }"""
    )
    page.wait_for_function(
        """(selector) => [...document.querySelectorAll(selector)].every((script) => {
            const area = script.previousElementSibling;
            return area && area.classList.contains("widget-subarea")
                && area.querySelector(".jupyter-widgets");
        })""",
        arg=WIDGET_VIEW,
    )
    page.evaluate(
        """() => Promise.all([...document.images].map((img) => {
            img.loading = "eager";
            return img.complete ? null : new Promise((done) => {
                img.addEventListener("load", done);
                img.addEventListener("error", done);
            });
        }))"""
    )


PAGE_REPORT = """(selector) => {
    const article = document.querySelector("article") || document.body;
    const prose = article.cloneNode(true);
    prose.querySelectorAll("pre, code, script, style, .highlight, mjx-container")
        .forEach((node) => node.remove());
    const text = prose.textContent;
    const widgets = [...document.querySelectorAll(selector)].map((script) => {
        const area = script.previousElementSibling;
        const images = [...area.querySelectorAll("img")];
        return {
            controls: area.querySelectorAll(
                ".widget-slider, .widget-dropdown, .widget-button, .widget-toggle-buttons,"
                + " .widget-checkbox, .widget-text, input, select, button").length,
            figures: images.filter((img) => img.complete && img.naturalWidth > 0).length,
            text: area.innerText.slice(-600),  // e.g. the error a callback raised
        };
    });
    // Japanese text: with no CJK font every character is the same empty box.
    const sample = [...new Set((document.querySelector("h1")?.textContent || "")
        .match(/[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]/gu) || [])].slice(0, 8);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 40;
    const context = canvas.getContext("2d");
    context.font = "32px " + getComputedStyle(document.querySelector("h1")).fontFamily;
    const glyphs = new Set(sample.map((character) => {
        context.clearRect(0, 0, 40, 40);
        context.fillText(character, 2, 34);
        return canvas.toDataURL();
    }));
    return {
        math: document.querySelectorAll(".math").length,
        typeset: document.querySelectorAll(".math mjx-container").length,
        rawTex: (text.match(/\\\\[\\[\\(]|\\\\begin\\{|\\$[^$\\s][^$]*\\$/) || [null])[0],
        brokenImages: [...document.images]
            .filter((img) => !(img.complete && img.naturalWidth > 0))
            .map((img) => img.src.slice(0, 80)),
        articleImages: article.querySelectorAll("img").length,
        missingGlyphWarning: document.body.innerText.includes("missing from font"),
        copyButtons: document.querySelectorAll("div.cell_input button.copybtn").length,
        widgetHints: document.querySelectorAll(".dlcourse-widget-hint").length,
        downloads: [...document.querySelectorAll("a.download")].map((a) => a.href),
        widgets: widgets,
        japaneseSample: sample.join(""),
        distinctGlyphs: glyphs.size,
    };
}"""


def embedded_notebook_status(url: str) -> int:
    """200 when a data: URL holds a notebook (as tools/book_offline.py embeds it), else 0."""
    import base64
    import json

    try:
        notebook = json.loads(base64.b64decode(url.split(",", 1)[1]))
    except ValueError:
        return 0
    return 200 if notebook.get("nbformat") == 4 and notebook.get("cells") else 0


@pytest.mark.parametrize("name", toc_pages())
def test_page_in_the_browser(name, browser, book_url):
    external_before = len(browser.external)
    page = browser.open(f"{book_url}{name}.html")
    try:
        wait_until_rendered(page)
        report = page.evaluate(PAGE_REPORT, WIDGET_VIEW)
        downloads = {
            url[:60]: embedded_notebook_status(url)
            if url.startswith("data:")
            else page.request.get(url).status
            for url in report["downloads"]
        }
    finally:
        browser.screenshot(page, name)
        page.close()
    external = browser.external[external_before:]
    assert not external, f"requests that leave the machine (CDN?): {external}"
    assert not page.failed, f"failed requests: {page.failed}"
    assert not page.errors, "errors in the console:\n" + "\n".join(page.errors)
    assert report["typeset"] == report["math"], f"{report['math']} equations, typeset: {report}"
    assert report["rawTex"] is None, f"raw TeX in the text: {report['rawTex']!r}"
    assert not report["brokenImages"], f"images that did not load: {report['brokenImages']}"
    assert not report["missingGlyphWarning"], "a figure lacks glyphs (missing from font)"
    sample = report["japaneseSample"]
    assert report["distinctGlyphs"] == len(sample), f"{sample!r} drawn as empty boxes: no CJK font"
    for number, widget in enumerate(report["widgets"], 1):
        assert widget["controls"], f"widget {number} shows no control"
        assert widget["figures"], f"widget {number} shows no figure; it shows:\n{widget['text']}"
    assert len(report["widgets"]) == report["widgetHints"], "a widget without the note on Live Code"
    assert all(status == 200 for status in downloads.values()), f"downloads: {downloads}"
    if name in chapter_pages():
        assert report["articleImages"], "a chapter page without any figure"
        assert report["widgets"], "a chapter page without any widget"
        assert report["copyButtons"], "code cells without copy buttons"
        assert any(
            url.endswith(".ipynb") or url.startswith("data:application/x-ipynb+json")
            for url in downloads
        ), "no exercise download link"


def search(browser, book_url: str, query: str) -> list[str]:
    """The pages (without extension) the book's search page lists for ``query``."""
    page = browser.open(f"{book_url}search.html?q={quote(query)}")
    try:
        # Finished: the title "Searching..." (with its pulsing dots) became "Search Results".
        page.wait_for_function(
            """() => typeof Search !== "undefined" && Search.title
                && !Search.title.querySelector("span")"""
        )
        links = page.eval_on_selector_all(
            "#search-results ul.search li a", "(links) => links.map((a) => a.href)"
        )
        summary = page.inner_text("#search-results .search-summary")
        assert not page.errors, page.errors
    finally:
        page.close()
    assert links or "見つかりません" in summary, f"no result count for {query!r}: {summary!r}"
    assert not links or str(len(links)) in summary, f"{len(links)} results: {summary!r}"
    return [re.sub(r"\.html$", "", urlsplit(link).path.lstrip("/")) for link in links]


def test_search_in_japanese_finds_every_chapter(built, browser, book_url):
    queries = []
    for name in chapter_pages():
        text = (built / f"{name}.html").read_text(encoding="utf-8")
        title = html.unescape(re.search(r"<title>(.*?)</title>", text, re.S).group(1))
        title = title.split(" — ")[0]  # "第1章 テンソルの基礎 — (the book's title)"
        queries.append((name, re.sub(r"^第\s*\d+\s*章\s*", "", title).strip()))
        queries += [(name, word) for word in SEARCH_WORDS.get(name.split("/")[1], [])]
    assert queries, "no chapter in _toc.yml"
    missed = []
    for name, query in queries:
        found = search(browser, book_url, query)
        if name not in found:
            missed.append(f"{query!r} does not find {name} (found {found})")
    assert not missed, "\n".join(missed)


# ---------------------------------------------------------------------------
# Live code: `make live`'s servers and Thebe


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_book(built):
    """tools/live.py on two free loopback ports; yields the book's URL."""
    book_port, jupyter_port = free_port(), free_port()
    command = [sys.executable, str(ROOT / "tools" / "live.py"), "--book", str(built)]
    command += ["--port", str(book_port), "--jupyter-port", str(jupyter_port)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    ready = threading.Event()
    threading.Thread(target=lambda: process.stdout.readline() and ready.set(), daemon=True).start()
    try:
        if not ready.wait(120):
            pytest.fail(f"tools/live.py did not start (exit code {process.poll()})")
        yield f"http://127.0.0.1:{book_port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def live_page(built: Path) -> str:
    """The LIF chapter, or else the first chapter with a widget."""
    chapters = chapter_pages()
    if "book/08_lif_neuron" in chapters:
        return "book/08_lif_neuron"
    for name in chapters:
        if "widget-view+json" in (built / f"{name}.html").read_text(encoding="utf-8"):
            return name
    pytest.fail("no chapter page with a widget")


def test_live_code_redraws_the_figure_when_a_slider_moves(built, browser, live_book):
    name = live_page(built)
    external_before = len(browser.external)
    page = browser.open(f"{live_book}{name}.html")
    try:
        page.click(".dropdown-launch-buttons button.dropdown-toggle")
        page.click("button:has-text('Live Code')")
        page.wait_for_function("() => window.thebe && thebe.session && thebe.session.kernel")
        page.locator(".thebe-runall-button").first.click()
        widget = page.locator(".jp-OutputArea .widget-vbox").filter(
            has=page.locator(".widget-slider")
        )
        widget.first.locator("img").first.wait_for(timeout=240_000)
        widget = widget.first
        before = widget.locator("img").first.get_attribute("src")
        readout = widget.locator(".widget-readout").first
        value = readout.inner_text()
        widget.locator(".noUi-handle").first.focus()
        # One step (one redraw); at the maximum, one step the other way.
        for key in ("ArrowRight", "ArrowLeft"):
            page.keyboard.press(key)
            if readout.inner_text() != value:
                break
        assert readout.inner_text() != value, "the slider did not move"
        buttons = widget.locator(".widget-button")
        if buttons.count():  # a widget that trains redraws on its button
            buttons.first.click()
        start = time.monotonic()
        page.wait_for_function(
            """([widget, before]) => {
                const img = widget.querySelector("img");
                return img && img.getAttribute("src") !== before && img.naturalWidth > 0;
            }""",
            arg=[widget.element_handle(), before],
            timeout=120_000,
        )
        redraw = time.monotonic() - start
        moved = f"{value} -> {readout.inner_text()}"
        browser.screenshots.mkdir(parents=True, exist_ok=True)
        widget.screenshot(path=browser.screenshots / f"live__{name.replace('/', '__')}.png")
    finally:
        page.close()
    external = browser.external[external_before:]
    assert not external, f"requests that leave the machine: {external}"
    assert not page.failed, f"failed requests: {page.failed}"
    assert not page.errors, "errors in the console:\n" + "\n".join(page.errors)
    print(f"{name}: slider {moved}, figure redrawn in {redraw:.2f} s")


def test_every_chapter_page_embeds_its_exercise_for_download(built):
    """The download link carries the notebook itself (data: URL) and its file name."""
    for page in chapter_pages():
        chapter = page.split("/")[1]
        text = (built / f"{page}.html").read_text(encoding="utf-8")
        link = re.search(
            rf'download="{chapter}\.ipynb" href="data:application/x-ipynb\+json;base64,', text
        )
        assert link, f"{page}: no embedded download link for {chapter}.ipynb"


def test_download_link_saves_the_notebook_from_disk(built, browser):
    """Opened from disk (file://, as the README says), the link saves the exercise notebook."""
    import json

    first = chapter_pages()[0]
    chapter = first.split("/")[1]
    page = browser.context.new_page()
    try:
        page.goto((built / f"{first}.html").as_uri(), wait_until="load")
        link = page.locator("a.reference.download").first
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == f"{chapter}.ipynb"
        saved = Path(download.path()).read_text(encoding="utf-8")
        notebook = json.loads(saved)
        assert notebook["nbformat"] == 4 and notebook["cells"]
        assert "BEGIN SOLUTION" not in saved and "BEGIN HIDDEN TESTS" not in saved
        assert saved == (ROOT / "exercises" / chapter / f"{chapter}.ipynb").read_text(
            encoding="utf-8"
        )
    finally:
        page.close()
