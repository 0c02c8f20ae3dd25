"""The built book for a reader with a screen reader or a keyboard (WCAG 2.1 AA, issue 17).

Every page of _toc.yml opens in the same real, offline Chromium as
tests/test_browser.py (its ``browser`` and ``book_url`` fixtures), waits until
MathJax and the widget manager have drawn it, and gets axe-core (npm, pinned in
tools/assets.py, never shipped with the book) injected. A page fails on

- any critical or serious axe violation (WCAG 2.0/2.1 A and AA rules, the
  best-practice rules, and the experimental ``label-content-name-mismatch``,
  WCAG 2.5.3, which axe does not run by default);
- any violation, whatever its impact, of the rules in ``ALWAYS_FAIL``: the
  theme problems fixed once (_templates/, tools/book_static/a11y.js) stay fixed;
- any ``<img>`` without a meaningful ``alt``: a figure in the page's content
  (matplotlib outputs, plots inside widgets) needs a Japanese text of at least
  ``MIN_ALT`` characters that is not a file name; an image elsewhere needs an
  ``alt`` that is not a file name (empty only when it is marked decorative).

Colour contrast is checked in the light and (``-dark``) in the dark colour mode.
Each page's violations go to _build/a11y/<page>.json and one table to
_build/a11y/violations.md (the issue's before/after table is made this way).

On every chapter page also the keyboard path: the first Tab stop is the skip
link, Tab reaches the first widget control, and never stops on a formula on
the way. MathJax's menu stays for the mouse (right click) but out of the tab
order (_config.yml, ``inTabOrder: false``): before, every formula was a tab
stop, 38-183 of them before a chapter's first widget; screen readers read the
formulas from MathJax's assistive MathML, which needs no focus. The table
gives the Tab presses, and (computed from the same stops) the keys it takes
with the skip link.
"""

import json
import re
import sys
from pathlib import Path

import pytest
import test_browser
from harness import ROOT
from test_browser import chapter_pages, toc_pages, wait_until_rendered

sys.path.insert(0, str(ROOT / "tools"))
import assets  # noqa: E402

# The same offline Chromium and HTTP server as tests/test_browser.py (module-scoped fixtures).
browser = test_browser.browser
book_url = test_browser.book_url

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice", "experimental"],
    },
    "resultTypes": ["violations"],
}
DARK_OPTIONS = {
    "runOnly": {"type": "rule", "values": ["color-contrast"]},
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"critical", "serious"}
# Moderate rules that the book fixed and keeps fixed.
ALWAYS_FAIL = {"region", "label-content-name-mismatch", "landmark-unique"}
MIN_ALT = 20
MAX_TABS = 400  # a bound for the search, not a target
WIDGET_CONTROL = ".widget-subarea .noUi-handle, .widget-subarea input, .widget-subarea select, \
.widget-subarea button, .widget-subarea [tabindex]"

RUN_AXE = """async (options) => {
    const results = await axe.run(document, options);
    return results.violations.map((rule) => ({
        id: rule.id,
        impact: rule.impact,
        help: rule.help,
        nodes: rule.nodes.map((node) => ({
            target: node.target.join(" "),
            html: node.html.slice(0, 200),
            summary: (node.failureSummary || "").slice(0, 300),
        })),
    }));
}"""

IMAGES = """() => {
    const article = document.querySelector("article.bd-article") || document.querySelector("main");
    return [...document.images].map((img) => ({
        src: (img.getAttribute("src") || "").slice(0, 80),
        alt: img.getAttribute("alt"),
        content: !!(article && article.contains(img)),
        decorative: img.getAttribute("role") === "presentation"
            || img.getAttribute("role") === "none" || img.closest("[aria-hidden=true]") !== null,
        where: (img.closest(".cell") || {}).id || img.parentElement.className,
    }));
}"""

SWITCH_TO_DARK = """() => new Promise((settled) => {
    const still = document.createElement("style");
    still.textContent = "*, *::before, *::after { transition: none !important; }";
    document.head.append(still);
    document.documentElement.dataset.theme = "dark";
    requestAnimationFrame(() => requestAnimationFrame(settled));
})"""

FILE_NAME = re.compile(r"\.(png|jpe?g|gif|svg|webp)\b|_images/|^data:|^\S*/\S*$", re.I)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana and kanji


def axe_script() -> Path:
    return assets.ensure_test_assets() / "axe-core" / "axe.min.js"


def scan(page) -> tuple[list[dict], list[dict]]:
    """(axe violations, images) of a rendered page; contrast also in the dark colour mode."""
    page.add_script_tag(path=str(axe_script()))
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    # The theme's colour-mode button sets data-theme on <html>; its CSS follows it. Colours
    # are read once they have settled: the theme's .15 s colour transitions are switched off
    # (on CI axe once read a colour still changing) and two frames pass before the scan.
    page.evaluate(SWITCH_TO_DARK)
    for rule in page.evaluate(RUN_AXE, DARK_OPTIONS):
        violations.append({**rule, "id": f"{rule['id']}-dark"})
    page.evaluate("() => { document.documentElement.dataset.theme = 'light'; }")
    return violations, page.evaluate(IMAGES)


def image_problems(images: list[dict]) -> list[str]:
    problems = []
    for image in images:
        alt, where = image["alt"], f"{image['where']}: <img src={image['src']!r}>"
        if alt is None:
            problems.append(f"{where} has no alt")
        elif image["decorative"] and not image["content"]:
            continue
        elif FILE_NAME.search(alt.strip()) and not JAPANESE.search(alt):
            problems.append(f"{where} has a file name as alt: {alt!r}")
        elif image["content"] and (len(alt.strip()) < MIN_ALT or not JAPANESE.search(alt)):
            problems.append(f"{where}: a figure needs a Japanese alt of {MIN_ALT}+ characters")
        elif not image["content"] and not alt.strip():
            problems.append(f"{where} has an empty alt but is not marked decorative")
    return problems


def failing(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in FAILING_IMPACTS or v["id"] in ALWAYS_FAIL]


def report_folder(built: Path) -> Path:
    folder = built.parent / "a11y"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_table(folder: Path) -> Path:
    """_build/a11y/violations.md: one row per page, one cell per rule (number of nodes)."""
    reports = {
        path.stem.replace("__", "/"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.json"))
    }
    rules = sorted({v["id"] for report in reports.values() for v in report["violations"]})
    impacts = {v["id"]: v["impact"] for r in reports.values() for v in r["violations"]}
    header = [f"{rule} ({impacts[rule]})" for rule in rules] + ["img alt", "Tab (skip link)"]
    lines = ["| page | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for name, report in reports.items():
        counts = {v["id"]: len(v["nodes"]) for v in report["violations"]}
        cells = [str(counts.get(rule, "")) for rule in rules] + [str(len(report["images"]))]
        path = report.get("keyboard")
        cells.append(f"{path['presses']} ({path['presses_with_skip_link']})" if path else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = folder / "violations.md"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


RECORD_FOCUS = """(selector) => {
    const main = document.getElementById("main-content");
    window.dlcourseStops = [];
    document.addEventListener("focusin", (event) => window.dlcourseStops.push({
        control: event.target.matches(selector),
        math: event.target.closest("mjx-container") !== null,
        // Where Enter on the skip link (href="#main-content") lets Tab go on from.
        inMain: !!main && (main.contains(event.target)
            || !!(main.compareDocumentPosition(event.target) & Node.DOCUMENT_POSITION_FOLLOWING)),
        html: event.target.outerHTML.slice(0, 80),
    }));
}"""


def keyboard_path(page, limit: int = MAX_TABS) -> dict:
    """Tab from the top of a rendered page to the first widget control.

    A focusin listener records every stop (keys go in batches of 10 between two
    looks). ``presses`` counts the real Tab presses; ``presses_with_skip_link``
    is Tab + Enter on the skip link and then the stops from the main content on.
    """
    focusable_math = page.evaluate(
        """() => [...document.querySelectorAll("mjx-container, mjx-container *")]
            .filter((node) => node.tabIndex >= 0).length"""
    )
    page.evaluate(RECORD_FOCUS, WIDGET_CONTROL)
    stops, first = [], None
    for _ in range(0, limit, 10):
        for _ in range(10):
            page.keyboard.press("Tab")
        stops = page.evaluate("() => window.dlcourseStops")
        first = next((n for n, stop in enumerate(stops, 1) if stop["control"]), None)
        if first is not None:
            stops = stops[:first]
            break
    in_main = [stop for stop in stops if stop["inMain"]]
    return {
        "focusable_math": focusable_math,
        "first_stop": stops[0]["html"] if stops else None,
        "presses": first,
        "presses_with_skip_link": first and 2 + len(in_main),
        "math_stops": [stop["html"] for stop in stops if stop["math"]],
    }


def keyboard_problems(path: dict) -> list[str]:
    problems = []
    if path["focusable_math"]:
        problems.append(f"{path['focusable_math']} formulas are tab stops (MathJax menu settings)")
    problems += [f"Tab stops on a formula: {html}" for html in path["math_stops"][:3]]
    if not (path["first_stop"] or "").startswith('<a href="#main-content">本文へスキップ'):
        problems.append(f"the first Tab stop is not the skip link: {path['first_stop']}")
    if path["presses"] is None:
        problems.append(f"no widget control within {MAX_TABS} Tab presses")
    return problems


@pytest.mark.parametrize("name", toc_pages())
def test_page_passes_axe_and_every_image_has_a_meaningful_alt(name, built, browser, book_url):
    """axe and the images on every page; on a chapter page also the keyboard path."""
    page = browser.open(f"{book_url}{name}.html")
    try:
        wait_until_rendered(page)
        path = keyboard_path(page) if name in chapter_pages() else None
        violations, images = scan(page)
    finally:
        page.close()
    problems = image_problems(images)
    folder = report_folder(built)
    record = {"violations": violations, "images": problems, "keyboard": path}
    (folder / f"{name.replace('/', '__')}.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    write_table(folder)
    lines = []
    for rule in failing(violations):
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']}")
        lines += [f"    {node['target']}  {node['html'][:120]}" for node in rule["nodes"][:10]]
    lines += problems
    if path is not None:
        lines += keyboard_problems(path)
        print(
            f"{name}: first widget control after {path['presses']} Tab presses"
            f" ({path['presses_with_skip_link']} keys with the skip link)"
        )
    assert not lines, f"{name}: accessibility problems:\n" + "\n".join(lines)
