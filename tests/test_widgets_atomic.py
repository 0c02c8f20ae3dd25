"""A widget's redraw replaces its picture in one step, with a Japanese alt (dlcourse.widgets).

The browser side (layout, names, contrast, alt in the page) is in
test_widgets_browser.py; this file checks what the kernel sends.
"""

import base64
import re

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from dlcourse.plotting import use_japanese_font
from dlcourse.widgets import (
    BUTTON_COLOR,
    HANDLE_COLOR,
    button_figure,
    describe_figure,
    figure_html,
    float_slider,
    int_slider,
    interactive_figure,
    no_progress,
    plain_text,
    readout,
)

IMG = re.compile(
    r'<img class="dlcourse-figure" alt="(?P<alt>[^"]+)" width="(?P<w>\d+)" height="(?P<h>\d+)"'
    r'[^>]*src="data:image/png;base64,(?P<png>[A-Za-z0-9+/=]+)">'
)
PANEL = r'<div style="flex: \d+ 1 \d+px; min-width: 0; max-width: \d+px"><img [^>]*></div>'
FIGURES = re.compile(rf'<div class="dlcourse-figures" [^>]*>(?P<panels>(?:{PANEL})+)</div>')


def images(picture: str) -> list[re.Match]:
    """The ``<img>`` elements of one picture (one per panel), checked to be all it holds."""
    match = FIGURES.fullmatch(picture)
    assert match, picture[:300]
    found = list(IMG.finditer(match["panels"]))
    assert len(found) == len(re.findall(PANEL, match["panels"])), match["panels"][:300]
    return found


use_japanese_font()


def line_figure(a, progress=no_progress):
    list(progress(range(2)))
    fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
    ax.plot([0, 1], [0, a])
    ax.set(title=r"直線 ($\tau$ = " + f"{a:g})", xlabel="時刻 (ms)", ylabel="$V_m$")
    return fig


def record(widget, trait):
    changes = []
    widget.observe(lambda change: changes.append(change["new"]), names=trait)
    return changes


def test_a_slider_move_replaces_the_picture_in_one_update():
    slider = float_slider(1.0, 0.0, 2.0, 0.1, "傾き a")
    box = interactive_figure(line_figure, {"a": slider})
    area = box.children[-1]
    pictures, messages = record(area.picture, "value"), record(area.messages, "outputs")
    slider.value = 1.3
    slider.value = 1.4
    assert len(pictures) == 2, "one update of the picture per move"
    assert messages == [], "nothing printed: the Output is not touched (no clear_output)"
    [match] = images(pictures[-1])
    assert base64.b64decode(match["png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert (match["w"], match["h"]) == ("200", "150")
    assert match["alt"] == "図: 直線 (τ = 1.4) (横軸 時刻 (ms)、縦軸 V_m)。設定: 傾き a = 1.40"
    assert plt.get_fignums() == [], "every drawn figure is closed"


def test_printed_messages_go_above_the_picture_once():
    def draw(a):
        print("まだ実装されていません")
        return None

    slider = int_slider(1, 0, 3, 1, "n")
    area = interactive_figure(draw, {"a": slider}).children[-1]
    assert area.picture.value == ""
    assert area.messages.outputs[0]["text"] == "まだ実装されていません\n"
    changes = record(area.messages, "outputs")
    slider.value = 2
    assert changes == [], "the same message is not sent again"


def test_button_redraw_and_colours():
    slider = float_slider(0.5, 0.0, 2.0, 0.5, "a")
    box = button_figure(line_figure, {"a": slider})
    button, area = box.children[-2], box.children[-1]
    assert button.style.button_color == BUTTON_COLOR and button.style.text_color == "white"
    assert slider.style.handle_color == HANDLE_COLOR
    pictures = record(area.picture, "value")
    slider.value = 1.0
    assert pictures == [], "a slider of a training widget redraws nothing"
    button.click()
    assert len(pictures) == 1 and "設定: a = 1.00" in pictures[0]
    plt.close("all")


def test_rows_wrap_and_controls_grow():
    sliders = {name: float_slider(0.0, -1.0, 1.0, 0.1, name) for name in "abc"}
    box = interactive_figure(lambda **_: None, sliders, per_row=2)
    first_row = box.children[0]
    assert first_row.layout.flex_flow == "row wrap"
    assert [len(row.children) for row in box.children[:-1]] == [2, 1]
    assert all(
        s.layout.flex.startswith("1 1 ") and s.layout.min_width == "0" for s in sliders.values()
    )


@pytest.mark.parametrize(
    ("control", "shown"),
    [
        (widgets.SelectionSlider(options=[0.001, 0.005, 0.01], value=0.005), "0.005"),
        (float_slider(0.1 + 0.2, -1.0, 1.0, 0.1, "x"), "0.30"),
        (int_slider(7, 0, 9, 1, "n"), "7"),
        (widgets.Dropdown(options=[("ReLU", 1), ("tanh", 2)], value=2), "tanh"),
    ],
)
def test_readout_is_what_the_control_shows(control, shown):
    assert readout(control) == shown


def test_text_alternative_of_a_two_panel_figure():
    fig, (left, right) = plt.subplots(1, 2)
    left.set(title=r"f-I 曲線 ($\tau_{ref}$ = 2 ms)", xlabel="電流 $I$")
    right.set_axis_off()
    assert describe_figure(fig) == "図: f-I 曲線 (τ_ref = 2 ms) (横軸 電流 I)"
    right.set_axis_on()
    right.set_title("膜電位")
    assert describe_figure(fig).startswith("2 つのグラフの図。1 つ目は f-I 曲線")
    assert plain_text(r"$\max(0, I)/(C_m V_{th})$") == "max(0, I)/(C_m V_th)"
    plt.close(fig)


def test_affine_widget_updates_its_figure_in_place():
    """Chapter 01's fast path: the same figure, new data, the same picture as a new drawing."""
    import torch
    import torch.nn.functional as F

    from dlcourse.tensors import affine_widget, plot_affine_grid

    box = affine_widget(F.linear)
    area = box.children[-1]
    kept = area.figure
    sliders = [slider for row in box.children[:-1] for slider in row.children]
    sliders[0].value = 1.5  # W[0,0]
    sliders[4].value = 0.5  # b[0]
    assert area.figure is kept, "the figure is reused"
    assert plt.get_fignums() == [], "pyplot holds no figure (nothing shows up below the cell)"
    fresh = plot_affine_grid(
        F.linear, torch.tensor([[1.5, 0.0], [0.0, 1.0]]), torch.tensor([0.5, 0.0])
    )
    for kept_line, fresh_line in zip(kept.axes[0].lines, fresh.axes[0].lines, strict=True):
        assert (kept_line.get_xydata() == fresh_line.get_xydata()).all()
    kept_texts = [(t.get_position(), t.get_text()) for t in kept.axes[0].texts]
    assert kept_texts == [(t.get_position(), t.get_text()) for t in fresh.axes[0].texts]
    assert kept.axes[0].get_title() == fresh.axes[0].get_title()
    assert "det W = 1.50" in area.picture.value and "W[0,0] = 1.50" in area.picture.value
    plt.close("all")


def test_lif_widget_updates_its_figure_in_place():
    """Chapter 08's fast path gives the lines and titles a new drawing has."""
    import torch

    from dlcourse.lif import draw_lif, exact_lif_trace, lif_widget

    def rate(I, Rm, Cm, Vth, tau_ref):
        return torch.as_tensor(I).clamp(min=0) / (Rm * Cm * Vth + tau_ref)

    box = lif_widget(None, rate, exact_lif_trace)
    area = box.children[-1]
    kept = area.figure
    rm, tau_ref, current = box.children[0].children
    rm.value, tau_ref.value, current.value = 2.0, 5.0, 0.75
    assert area.figure is kept and plt.get_fignums() == []
    fresh = draw_lif(None, rate, exact_lif_trace, 2.0, 5.0, 0.75)
    for kept_ax, fresh_ax in zip(kept.axes, fresh.axes, strict=True):
        assert kept_ax.get_title() == fresh_ax.get_title()
        assert kept_ax.get_ylim() == fresh_ax.get_ylim()
        for kept_line, fresh_line in zip(kept_ax.lines, fresh_ax.lines, strict=True):
            assert torch.allclose(
                torch.as_tensor(kept_line.get_xydata()), torch.as_tensor(fresh_line.get_xydata())
            )
    assert "I = 0.75 mA" in area.picture.value and "電流 I (mA) = 0.75" in area.picture.value
    plt.close("all")


def test_three_relus_widget_updates_its_figure_in_place():
    """Chapter 06's fast path: lines, legend, slopes, limits and title as a new drawing."""
    from dlcourse.universal_approximation import draw_three_relus, three_relus_widget

    box = three_relus_widget()
    area = box.children[-1]
    kept = area.figure
    v1, v2, v3, c = box.children[0].children
    v1.value, v2.value, c.value = 3.0, 1.5, -1.0
    assert area.figure is kept and plt.get_fignums() == []
    fresh = draw_three_relus(3.0, 1.5, 1.0, -1.0)
    kept_ax, fresh_ax = kept.axes[0], fresh.axes[0]
    assert kept_ax.get_title() == fresh_ax.get_title()
    assert kept_ax.get_ylim() == pytest.approx(fresh_ax.get_ylim())
    for kept_line, fresh_line in zip(kept_ax.lines, fresh_ax.lines, strict=True):
        assert (kept_line.get_xydata() == fresh_line.get_xydata()).all()
    texts = [(t.get_text(), t.xy) for t in kept_ax.texts]
    assert texts == [(t.get_text(), t.xy) for t in fresh_ax.texts]
    legend = [t.get_text() for t in kept_ax.get_legend().get_texts()]
    assert legend == [t.get_text() for t in fresh_ax.get_legend().get_texts()]
    plt.close("all")


def png_pixels(match: re.Match):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(match["png"]))).convert("RGB"))


def test_two_panels_are_two_images_that_wrap():
    """Side-by-side panels: one image each (cut between them), with its own alt."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2), dpi=50)
    left.plot([0, 1], [0, 1])
    left.set(title="左のグラフ", ylabel="縦")
    right.plot([0, 1], [1, 0])
    right.set(title="右のグラフ", ylabel="損失")
    fig.tight_layout()
    html = figure_html(fig, "a = 1")
    first, second = images(html)
    assert 'style="display: flex; flex-wrap: wrap;' in html
    assert first["alt"] == "図: 左のグラフ (縦軸 縦)。設定: a = 1"
    assert second["alt"] == "図: 右のグラフ (縦軸 損失)。設定: a = 1"
    assert int(first["w"]) + int(second["w"]) == 300
    assert first["h"] == second["h"] == "100"
    assert png_pixels(first).shape == (100, int(first["w"]), 3)
    # The cut lies in the gap: the right image starts left of the right panel's labels.
    right_x0 = right.get_tightbbox().x0
    assert left.get_tightbbox().x1 <= int(first["w"]) <= right_x0
    # A title across both panels keeps the figure in one image.
    fig, axes = plt.subplots(1, 2, figsize=(6, 2), dpi=50)
    fig.suptitle("全体の題")
    assert len(images(figure_html(fig))) == 1


def _moves(box):
    """Every slider of a widget box, in its rows."""
    return [
        control
        for row in box.children[:-1]
        for control in row.children
        if isinstance(control, widgets.IntSlider | widgets.FloatSlider)
    ]


def _slider_widgets():
    import torch
    import torch.nn.functional as F

    from dlcourse.iris import load_iris_arrays
    from dlcourse.lif import exact_lif_trace, lif_widget
    from dlcourse.linear_regression import learning_rate_widget
    from dlcourse.logistic_regression import decision_region_widget
    from dlcourse.tensors import affine_widget
    from dlcourse.universal_approximation import three_relus_widget

    def rate(I, Rm, Cm, Vth, tau_ref):
        return torch.as_tensor(I).clamp(min=0) / (Rm * Cm * Vth + tau_ref)

    data, species = load_iris_arrays()
    X, Y = data[:, :3], data[:, 3:]
    Xt, yt = torch.from_numpy(data), torch.from_numpy(species)
    return {
        "01": lambda: affine_widget(F.linear),
        "02": lambda: learning_rate_widget(X[1::2], X[::2], Y[1::2], Y[::2], lambda p, t: 0.5),
        "03": lambda: decision_region_widget(Xt[1::2], yt[1::2], Xt[::2], yt[::2]),
        "06": three_relus_widget,
        "08": lambda: lif_widget(None, rate, exact_lif_trace),
    }


@pytest.mark.parametrize("chapter", ["01", "02", "03", "06", "08"])
def test_a_partial_redraw_has_the_pixels_of_a_full_one(chapter):
    """After each slider move, the picture sent equals a full draw of the same figure.

    A move redraws only the changed artists (and those above them) over the
    kept background; a full draw of the kept figure must give the same pixels.
    """
    import numpy as np

    from dlcourse.widgets import render_figure

    box = _slider_widgets()[chapter]()
    area = box.children[-1]
    sliders = _moves(box)
    partial = 0
    for move in range(4):
        slider = sliders[move % len(sliders)]
        step = slider.step if slider.value + slider.step <= slider.max else -slider.step
        slider.value = slider.value + step
        frame = area.figure._dlcourse_frame
        partial += bool(frame.dynamic)
        sent = np.concatenate([png_pixels(match) for match in images(area.picture.value)], axis=1)
        area.figure._dlcourse_frame = None  # forget the background: draw everything
        full, _ = render_figure(area.figure)
        assert sent.shape == full.shape
        differ = int((sent != full).any(axis=2).sum())
        assert differ == 0, f"move {move}: {differ} pixels differ from a full draw"
    assert partial, "no move took the partial path"
    plt.close("all")


def test_learning_rate_widget_updates_its_figure_in_place():
    """Chapter 02's fast path: curves, marker, points, limits and titles as a new drawing."""
    import numpy as np

    from dlcourse.iris import load_iris_arrays
    from dlcourse.linear_regression import learning_rate_widget, plot_learning_rate_run, sgd_runs

    data, _ = load_iris_arrays()
    split = data[1::2, :3], data[::2, :3], data[1::2, 3:], data[::2, 3:]
    box = learning_rate_widget(*split, r2_fn=lambda p, t: 0.5)
    area = box.children[-1]
    kept = area.figure
    rate, epochs = box.children[0].children
    rate.value, epochs.value = 0.01, 37
    assert area.figure is kept and plt.get_fignums() == []
    fresh = plot_learning_rate_run(sgd_runs(*split), 0.01, 37, lambda p, t: 0.5)
    for kept_ax, fresh_ax in zip(kept.axes, fresh.axes, strict=True):
        assert kept_ax.get_title() == fresh_ax.get_title()
        assert kept_ax.get_xlim() == pytest.approx(fresh_ax.get_xlim())
        assert kept_ax.get_ylim() == pytest.approx(fresh_ax.get_ylim())
        for kept_line, fresh_line in zip(kept_ax.lines, fresh_ax.lines, strict=True):
            np.testing.assert_allclose(kept_line.get_xydata(), fresh_line.get_xydata())
    np.testing.assert_allclose(
        kept.axes[1].collections[0].get_offsets(), fresh.axes[1].collections[0].get_offsets()
    )
    rate.value = 0.02  # diverges: the y-y panel becomes a message, drawn anew
    assert area.figure is not kept and not area.figure.axes[1].axison
    plt.close("all")


def test_decision_region_widget_updates_its_figure_in_place():
    """Chapter 03's fast path: regions, loss curves, marker and title as a new drawing."""
    import numpy as np
    import torch

    from dlcourse.iris import load_iris_arrays
    from dlcourse.logistic_regression import decision_region_widget, plot_region_epoch, region_state

    data, species = load_iris_arrays()
    X, y = torch.from_numpy(data), torch.from_numpy(species)
    split = X[1::2], y[1::2], X[::2], y[::2]
    box = decision_region_widget(*split)
    area = box.children[-1]
    kept = area.figure
    kind, epoch = box.children[0].children
    epoch.value = 7
    kind.value = "sigmoid"
    assert area.figure is kept and plt.get_fignums() == []
    fresh = plot_region_epoch(region_state(*split), "sigmoid", 7)
    for kept_ax, fresh_ax in zip(kept.axes, fresh.axes, strict=True):
        assert kept_ax.get_title() == fresh_ax.get_title()
        assert kept_ax.get_ylim() == pytest.approx(fresh_ax.get_ylim())
        for kept_line, fresh_line in zip(kept_ax.lines, fresh_ax.lines, strict=True):
            np.testing.assert_allclose(kept_line.get_xydata(), fresh_line.get_xydata())
    kept_regions = kept.axes[0].images[0].get_array()
    assert (kept_regions == fresh.axes[0].images[0].get_array()).all()
    plt.close("all")
