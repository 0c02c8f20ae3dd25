"""Every chapter's widget in the built book, on a phone (390x844) and a desktop (1280 px).

Real Chromium through Playwright, offline, on the book that conftest.py's
`built` makes (the same browser set-up as test_browser.py). For each widget:
every control inside the viewport and visible, slider tracks at least
MIN_TRACK_PX wide on the desktop, the figure no wider than the page and each
of its images (one per panel) at MIN_FIGURE_SCALE of its natural size or more,
the panels side by side on the desktop; every
slider handle named by its visible label with its readout as aria-valuetext
(also after a keyboard step); every figure with a Japanese alt that names it
and the controls' values; the course's own control colours at WCAG AA
contrast; no Ajv schema notice in the console. Screenshots of every page at
both sizes go to a pytest temporary folder ("widget-screenshots"), whose path
the test prints.
"""

import re

import pytest
from test_browser import WIDGET_VIEW, book_url, browser, chapter_pages, wait_until_rendered

__all__ = ["browser", "book_url"]  # fixtures shared with test_browser.py

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
MIN_TRACK_PX = 150
TEXT_CONTRAST = 4.5  # WCAG 1.4.3
CONTROL_CONTRAST = 3.0  # WCAG 1.4.11
SCHEMA_NOTICE = "allowUnionTypes"
# A figure image shown at less than this share of its natural size has
# unreadable labels: the PNGs are drawn at 100 dpi, so 10 pt tick labels are
# 13.9 px tall in the image and at >= 90 % >= 12.5 CSS px, above the 12 px of
# Lighthouse's "legible font sizes" audit for phones. (A two-panel figure as
# one image was shown at 34 % on a phone: 4.7 px.)
MIN_FIGURE_SCALE = {"phone": 0.9, "desktop": 0.85}

# Measured in the page: geometry, names and colours of every widget's parts.
WIDGET_REPORT = """(selector) => {
    const rgb = (colour) => (colour.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
    const luminance = ([r, g, b]) => {
        const channel = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    const contrast = (a, b) => {
        const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return Math.round(((high + 0.05) / (low + 0.05)) * 100) / 100;
    };
    // The first opaque background at or behind an element.
    const background = (element) => {
        for (let node = element; node; node = node.parentElement) {
            const colour = rgb(getComputedStyle(node).backgroundColor);
            if (colour.length === 3 || (colour.length === 4 && colour[3] > 0.99)) {
                return colour.slice(0, 3);
            }
        }
        return [255, 255, 255];
    };
    const box = (element) => {
        const r = element.getBoundingClientRect();
        return {left: r.left, right: r.right, width: r.width, height: r.height};
    };
    const name = (element) => {
        const ids = (element.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
        const labelled = ids.map((id) => document.getElementById(id)?.textContent.trim() || "");
        return labelled.join(" ") || element.getAttribute("aria-label") || "";
    };
    return [...document.querySelectorAll(selector)].map((script) => {
        const area = script.previousElementSibling;
        const controls = [...area.querySelectorAll(
            ".widget-slider, .widget-dropdown, .widget-button")].map((control) => ({
                kind: control.classList.contains("widget-slider") ? "slider"
                    : control.classList.contains("widget-button") ? "button" : "dropdown",
                text: control.innerText.replace(/\\s+/g, " ").trim(),
                visible: control.checkVisibility({opacityProperty: true, visibilityProperty: true}),
                ...box(control),
            }));
        const sliders = [...area.querySelectorAll(".widget-slider")].map((slider) => {
            const handle = slider.querySelector(".noUi-handle[role=slider]");
            const track = slider.querySelector(".noUi-target");
            return {
                label: slider.querySelector(".widget-label")?.textContent.trim() || "",
                readout: slider.querySelector(".widget-readout")?.textContent.trim() || "",
                name: name(handle),
                valuetext: handle.getAttribute("aria-valuetext"),
                track: box(track),
                trackContrast: contrast(rgb(getComputedStyle(track).backgroundColor),
                                        background(track.parentElement)),
                handleContrast: contrast(rgb(getComputedStyle(handle).backgroundColor),
                                         background(slider)),
            };
        });
        const buttons = [...area.querySelectorAll("button.widget-button")].map((button) => {
            const style = getComputedStyle(button);
            return {
                text: button.textContent.trim(),
                contrast: contrast(rgb(style.color), background(button)),
                edge: contrast(background(button), background(button.parentElement)),
            };
        });
        const images = [...area.querySelectorAll("img")].map((img) => ({
            alt: img.getAttribute("alt"),
            complete: img.complete && img.naturalWidth > 0,
            naturalWidth: img.naturalWidth,
            top: img.getBoundingClientRect().top,
            ...box(img),
        }));
        return {area: box(area), controls, sliders, buttons, images};
    });
}"""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("widget-screenshots")
    print(f"widget screenshots: {folder}")
    return folder


@pytest.mark.parametrize("name", chapter_pages())
def test_widgets_fit_and_are_accessible(name, browser, book_url, screenshots):
    """Phone first, then the same page resized to the desktop (one load per chapter)."""
    page = browser.context.new_page()
    messages = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    reports = {}
    try:
        for number, (viewport, (width, height)) in enumerate(VIEWPORTS.items()):
            page.set_viewport_size({"width": width, "height": height})
            if number == 0:
                page.goto(f"{book_url}{name}.html", wait_until="load")
                wait_until_rendered(page)
            else:  # the new layout after the resize
                page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
            reports[viewport] = page.evaluate(WIDGET_REPORT, WIDGET_VIEW)
            shot = screenshots / f"{name.replace('/', '__')}-{viewport}.png"
            page.screenshot(path=shot, full_page=True)
        stepped = step_first_slider(page)
    finally:
        page.close()
    assert not [m for m in messages if SCHEMA_NOTICE in m], f"schema notices: {messages}"
    problems = []
    for viewport, widgets in reports.items():
        assert widgets, f"{name}: no widget"
        problems += widget_problems(f"{name} ({viewport})", widgets, viewport)
    assert not problems, "\n".join(problems)
    if stepped:
        before, after = stepped
        assert after["valuetext"] == after["readout"] != before["readout"], (before, after)


def widget_problems(page_name: str, widgets: list[dict], viewport: str) -> list[str]:
    """What WIDGET_REPORT shows to be wrong at one viewport size."""
    width = VIEWPORTS[viewport][0]
    problems = []
    for number, widget in enumerate(widgets, 1):
        where = f"{page_name} widget {number}"
        for control in widget["controls"]:
            what = f"{where}: {control['kind']} 「{control['text'][:30]}」"
            if not control["visible"] or control["width"] < 1 or control["height"] < 1:
                problems.append(f"{what} is not visible")
            if control["left"] < 0 or control["right"] > width:
                problems.append(f"{what} is cut off: {control['left']:.0f}-{control['right']:.0f}")
        for slider in widget["sliders"]:
            what = f"{where}: slider 「{slider['label']}」"
            track = slider["track"]
            if track["left"] < 0 or track["right"] > width or track["width"] < 1:
                problems.append(f"{what}: track outside the page or invisible ({track})")
            if viewport == "desktop" and track["width"] < MIN_TRACK_PX:
                problems.append(f"{what}: track {track['width']:.0f} px < {MIN_TRACK_PX} px")
            if slider["name"] != slider["label"]:
                problems.append(f"{what}: handle named {slider['name']!r}")
            if slider["valuetext"] != slider["readout"]:
                problems.append(
                    f"{what}: valuetext {slider['valuetext']!r}, readout shows "
                    f"{slider['readout']!r}"
                )
            if slider["trackContrast"] < CONTROL_CONTRAST:
                problems.append(f"{what}: track contrast {slider['trackContrast']}:1")
            if slider["handleContrast"] < CONTROL_CONTRAST:
                problems.append(f"{what}: handle contrast {slider['handleContrast']}:1")
        for button in widget["buttons"]:
            if button["contrast"] < TEXT_CONTRAST or button["edge"] < CONTROL_CONTRAST:
                problems.append(f"{where}: button 「{button['text']}」 contrast {button}")
        figures = [image for image in widget["images"] if image["complete"]]
        if not figures:
            problems.append(f"{where}: no figure")
        for image in figures:
            alt = image["alt"] or ""
            if not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", alt) or "設定:" not in alt:
                problems.append(f"{where}: figure alt {alt!r}")
            if image["right"] > width or image["width"] > widget["area"]["width"] + 1:
                problems.append(f"{where}: figure {image['width']:.0f} px wide, too wide")
            scale = image["width"] / image["naturalWidth"]
            if scale < MIN_FIGURE_SCALE[viewport]:
                problems.append(
                    f"{where}: figure {image['naturalWidth']} px shown at {image['width']:.0f} px"
                    f" ({scale:.0%} < {MIN_FIGURE_SCALE[viewport]:.0%}): labels too small"
                )
        if viewport == "desktop" and len({round(image["top"]) for image in figures}) > 1:
            problems.append(f"{where}: the panels of the figure are not side by side")
    return problems


def step_first_slider(page):
    """One ArrowRight (or ArrowLeft at the maximum) on the first handle: readout and valuetext."""
    slider = page.locator(".widget-slider").first
    if not slider.count():
        return None
    handle = slider.locator(".noUi-handle[role=slider]")

    def state():
        return {
            "readout": slider.locator(".widget-readout").inner_text().strip(),
            "valuetext": handle.get_attribute("aria-valuetext"),
        }

    before = state()
    handle.focus()
    focus = page.evaluate(
        "(element) => getComputedStyle(element).outlineStyle", handle.element_handle()
    )
    assert focus != "none", "a focused slider handle shows no outline"
    for key in ("ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
        if state()["readout"] != before["readout"]:
            break
    page.wait_for_function(
        """(handle) => handle.getAttribute("aria-valuetext")
            === handle.closest(".widget-slider").querySelector(".widget-readout")
                .textContent.trim()""",
        arg=handle.element_handle(),
    )
    return before, state()
