"""Widget latency: a control moves in a real browser -> the new figure is shown (issue 15).

For every chapter page of the built book (_build/html or --book; built in a
temporary folder when missing): tools/live.py serves it next to a local
Jupyter server; headless Chromium (Playwright) opens the page, starts Live
Code, runs all cells and waits for the widget's figure.
Then, MOVES times, it moves the first slider one step with the keyboard (a
widget that trains: it presses its button) and measures in the page, from the
key press (or the click, after a change of the first control: the same settings
train the same model) to the moment the new picture is decoded. The kernel's
share (computing the figure, rendering the PNG) comes from
dlcourse.widgets.REDRAW_TIMES, read through the same kernel. Prints a Markdown
table (`make bench` runs every tools/bench_*.py). Timings are measured, never
asserted by the test suite.
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MOVES = 5
TARGET_MS = 150

# Installed before each move: resolves with the milliseconds from the next
# keydown/click inside the widget to the decoded new picture.
WATCH = """(widget) => {
    // A figure may be several images (one per panel): all of them are new at once.
    const pictures = () => [...widget.querySelectorAll("img.dlcourse-figure")];
    const sources = () => pictures().map((img) => img.getAttribute("src")).join(" ");
    const before = sources();
    window.__redraw = new Promise((resolve) => {
        let start = null;
        const begin = () => { start = start ?? performance.now(); };
        widget.addEventListener("keydown", begin, {capture: true, once: true});
        widget.addEventListener("click", begin, {capture: true, once: true});
        const check = () => {
            const images = pictures();
            if (start === null || !images.length || sources() === before) return false;
            observer.disconnect();
            Promise.all(images.map((img) => img.decode().catch(() => null)))
                .then(() => resolve(performance.now() - start));
            return true;
        };
        const observer = new MutationObserver(check);
        observer.observe(widget, {subtree: true, childList: true, attributes: true});
        setTimeout(() => { observer.disconnect(); resolve(null); }, TIMEOUT_MS);
    });
}""".replace("TIMEOUT_MS", "300000")

KERNEL_TIMES = """async (count) => {
    const future = thebe.session.kernel.requestExecute({code:
        "import json, dlcourse.widgets as _w; print(json.dumps(list(_w.REDRAW_TIMES)[-"
        + count + ":]))"});
    let text = "";
    future.onIOPub = (message) => {
        if (message.header.msg_type === "stream") text += message.content.text;
    };
    await future.done;
    return text;
}"""


def chapter_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = []

    def walk(entries):
        for entry in entries or []:
            if entry.get("file", "").startswith("book/0"):
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_live(book: Path) -> tuple[subprocess.Popen, str]:
    book_port, jupyter_port = free_port(), free_port()
    command = [sys.executable, str(ROOT / "tools" / "live.py"), "--book", str(book)]
    command += ["--port", str(book_port), "--jupyter-port", str(jupyter_port)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    ready = threading.Event()
    threading.Thread(target=lambda: process.stdout.readline() and ready.set(), daemon=True).start()
    if not ready.wait(180):
        process.terminate()
        raise RuntimeError("tools/live.py did not start")
    return process, f"http://127.0.0.1:{book_port}/"


def measure(context, url: str) -> dict:
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.click(".dropdown-launch-buttons button.dropdown-toggle")
        page.click("button:has-text('Live Code')")
        page.wait_for_function("() => window.thebe && thebe.session && thebe.session.kernel")
        page.locator(".thebe-runall-button").first.click()
        widget = page.locator(".jp-OutputArea .widget-vbox").filter(
            has=page.locator("img.dlcourse-figure")
        )
        widget.first.wait_for(timeout=600_000)
        widget = widget.first
        button = widget.locator("button.widget-button")
        trains = button.count() > 0
        handle = widget.locator(".noUi-handle").first
        times = []
        select = widget.locator("select").first
        for move in range(MOVES):
            key = "ArrowRight" if move % 2 == 0 else "ArrowLeft"
            if trains:  # the same settings train the same model: change one first
                if handle.count():
                    handle.focus()
                    page.keyboard.press(key)
                else:
                    options = select.locator("option").all_inner_texts()
                    select.select_option(label=options[(move + 1) % len(options)])
                page.evaluate(WATCH, widget.element_handle())
                button.first.click()
            else:
                page.evaluate(WATCH, widget.element_handle())
                handle.focus()
                page.keyboard.press(key)
            times.append(page.evaluate("() => window.__redraw"))
        times = [t for t in times if t is not None]  # None: no new figure within 5 min
        kernel = json.loads(page.evaluate(KERNEL_TIMES, str(MOVES)) or "[]")
    finally:
        page.close()
    return {
        "action": "button「学習する」" if trains else "slider, one step",
        "browser_ms": times,
        "compute_ms": [1000 * draw for draw, _ in kernel],
        "render_ms": [1000 * render for _, render in kernel],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("pages", nargs="*", help="default: every chapter of _toc.yml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        book = args.book
        if not (book / "index.html").exists():  # `make bench` on a fresh clone
            print(f"no book at {book}: building one in {out} ...", file=sys.stderr, flush=True)
            jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
            command = [jupyter_book, "build", ".", "-W", "-n", "--keep-going"]
            subprocess.run([*command, "--path-output", out], cwd=ROOT, check=True)
            book = Path(out) / "_build" / "html"
        return bench(book.resolve(), args.pages or chapter_pages())


def bench(book: Path, pages: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    live, base = start_live(book)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS
            )
            context.set_default_timeout(120_000)
            for name in pages:
                result = measure(context, f"{base}{name}.html")
                rows.append((name, result))
                print(f"  {name}: {result}", file=sys.stderr, flush=True)
            context.close()
    finally:
        live.terminate()
        live.wait(timeout=30)

    def cell(values):
        if not values:
            return "–"
        return f"{statistics.median(values):.0f} / {max(values):.0f}"

    print(f"Widget latency, median / max of {MOVES} (ms); target ≤ {TARGET_MS} ms for sliders")
    print()
    print("| page | action | browser: move → new figure | kernel: compute | kernel: PNG |")
    print("|---|---|---:|---:|---:|")
    for name, result in rows:
        print(
            f"| {name} | {result['action']} | {cell(result['browser_ms'])} |"
            f" {cell(result['compute_ms'])} | {cell(result['render_ms'])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
