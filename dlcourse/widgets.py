"""Building blocks for the chapters' ipywidgets.

A widget's drawing callback is a plain function (tests call it directly with
the default values); the widget only wires its controls to it.

Every redraw replaces the picture in one step: the figure is rendered to a PNG
in the kernel and sent as the value of one HTML widget (an ``<img>`` per
panel, whose Japanese ``alt`` names what it shows and the controls' values). The
former Output widget needed a ``clear_output`` and a ``display`` message per
redraw, routed into the widget by a hook that the front end registers
asynchronously each time the Output's ``msg_id`` changes: a move could show a
cleared area, or lose the new picture to the page (nbval's "unhandled iopub
msg: clear_output").
"""

import base64
import html
import io
import itertools
import re
import time
from collections import deque
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import ipywidgets as widgets

NOT_IMPLEMENTED_MESSAGE = (
    "⚠ {name} がまだ実装されていません (NotImplementedError)。"
    " 上の演習セルを実装して実行してから、もう一度このセルを実行してください。"
)

# Colours of the course's own controls (WCAG 2.1 AA on a white page): white
# text on BUTTON_COLOR is 5.75:1 (text needs 4.5:1) and HANDLE_COLOR against
# white is 5.75:1 (controls need 3:1). The book's CSS (tools/book_static/
# live-code.css) also darkens the slider track and outlines the focused control.
BUTTON_COLOR = "#1565c0"
HANDLE_COLOR = "#1565c0"
# A control's share of its row: a line of its own in the book's text column
# (688 px on a desktop, 358 px on a phone), two or more side by side in a wider
# JupyterLab; a slider's track stays >= 150 px on a desktop (labels and the
# readout take about 200 px of a slider).
CONTROL_BASIS = "420px"
# Seconds spent in the kernel by the last redraws: (compute the figure, render
# and send it). tools/bench_widgets.py reads them next to the browser's times.
REDRAW_TIMES: deque[tuple[float, float]] = deque(maxlen=50)


def call_student_function(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a student's function; return ``None`` with a friendly message if unimplemented.

    Used by widgets in the graded notebooks so that "Run All" goes through
    while an exercise still raises ``NotImplementedError``.
    """
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        print(NOT_IMPLEMENTED_MESSAGE.format(name=getattr(func, "__name__", "関数")))
        return None


def float_slider(
    value: float, min: float, max: float, step: float, description: str
) -> widgets.FloatSlider:
    """A slider that redraws on release only, so a figure is computed once per move."""
    return widgets.FloatSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )


def int_slider(value: int, min: int, max: int, step: int, description: str) -> widgets.IntSlider:
    """Integer counterpart of :func:`float_slider`."""
    return widgets.IntSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )


def readout(control: widgets.Widget) -> str:
    """The value of ``control`` as its readout shows it (0.005 for a selection, not 3)."""
    if isinstance(control, widgets.SelectionSlider | widgets.Dropdown):
        return str(control.label)
    value = control.value
    if isinstance(value, float):
        return format(value, getattr(control, "readout_format", ".2f"))
    return str(value)


def _fit_control(control: widgets.Widget) -> widgets.Widget:
    """Let ``control`` grow, shrink and wrap within its row (see CONTROL_BASIS)."""
    control.layout.flex = f"1 1 {CONTROL_BASIS}"
    control.layout.width = "auto"
    control.layout.min_width = "0"
    control.layout.max_width = "100%"
    if "handle_color" in control.style.keys:
        control.style.handle_color = HANDLE_COLOR
    return control


def control_rows(controls: dict[str, widgets.Widget], per_row: int) -> list[widgets.HBox]:
    """At most ``per_row`` controls to a row; a row wraps on a narrow page."""
    items = [_fit_control(control) for control in controls.values()]
    return [
        widgets.HBox(
            items[i : i + per_row],
            layout=widgets.Layout(flex_flow="row wrap", width="100%", align_items="center"),
        )
        for i in range(0, len(items), per_row)
    ]


_TEX = {"tau": "τ", "eta": "η", "sigma": "σ", "cdot": "·", "times": "×", "max": "max"}


def plain_text(text: str) -> str:
    """Matplotlib mathtext as plain text: ``$\\tau_{ref}$`` -> ``τ_ref``."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX.get(m.group(1), m.group(1)), text)
    return re.sub(r"[${}]", "", text).strip()


def describe_axes(axes: list[Any]) -> str:
    """A Japanese text alternative for some panels: each one's title and axis labels.

    A panel without axes and title (e.g. a message instead of a plot) is
    described by its texts.
    """
    panels = []
    for ax in axes:
        title = plain_text(ax.get_title())
        if not ax.axison and not title:
            texts = "".join(plain_text(t.get_text()).replace("\n", "") for t in ax.texts)
            texts = texts.rstrip("。")
            if texts:
                panels.append(texts)
            continue
        labels = [
            f"{name} {plain_text(label)}"
            for name, label in (("横軸", ax.get_xlabel()), ("縦軸", ax.get_ylabel()))
            if label
        ]
        panel = title.replace("\n", " ") or "グラフ"
        panels.append(panel + (f" ({'、'.join(labels)})" if labels else ""))
    if len(panels) <= 1:
        return "図: " + (panels[0] if panels else "空の図")
    listed = "。".join(f"{number} つ目は {panel}" for number, panel in enumerate(panels, 1))
    return f"{len(panels)} つのグラフの図。{listed}"


def describe_figure(figure: Any) -> str:
    """A Japanese text alternative for ``figure``: each panel's title and axis labels."""
    return describe_axes(list(figure.axes))


class _Frame:
    """What :func:`render_figure` keeps between two renders of one figure.

    ``background``: the pixels without the ``dynamic`` artists; ``signature``:
    what the background depends on (sizes, axes, limits, scales, axis labels);
    ``columns``: the figure's panels as pixel columns with their axes.
    """

    def __init__(self, signature, background, dynamic, columns):
        self.signature = signature
        self.background = background
        self.dynamic = dynamic
        self.columns = columns


def _draw_order(ax: Any) -> list[Any]:
    """The artists ``ax.draw`` draws, in its order (the Axes patch first, not listed)."""
    artists = [artist for artist in ax.get_children() if artist is not ax.patch]
    if not (ax.axison and ax.get_frame_on()):
        artists = [artist for artist in artists if artist not in ax.spines.values()]
    if not ax.axison:
        artists = [artist for artist in artists if artist not in (ax.xaxis, ax.yaxis)]
    return sorted(artists, key=lambda artist: artist.zorder)


def _axis_state(axis: Any) -> tuple:
    return (tuple(axis.get_view_interval()), axis.get_scale(), axis.label.get_text())


def _signature(figure: Any, order: dict) -> tuple:
    return (
        tuple(figure.canvas.get_width_height()),
        figure.dpi,
        tuple(
            (
                id(ax),
                tuple(ax.get_position().bounds),
                ax.axison,
                _axis_state(ax.xaxis),
                _axis_state(ax.yaxis),
                tuple(map(id, order[ax])),
            )
            for ax in figure.axes
        ),
    )


def _columns(figure: Any, renderer: Any, width: int) -> list[tuple[int, int, list]]:
    """The figure's panels side by side: ``(left, right, axes)`` in pixels.

    Axes whose extents (with labels and titles) overlap horizontally share a
    column; a cut goes through the middle of the gap between two columns.
    """
    from matplotlib.transforms import Bbox

    boxes = sorted(
        (
            (Bbox.union([ax.get_tightbbox(renderer), ax.get_window_extent(renderer)]), ax)
            for ax in figure.axes
            if ax.get_visible()
        ),
        key=lambda box_ax: box_ax[0].x0,
    )
    groups: list[list] = []  # [x0, x1, axes]
    for box, ax in boxes:
        if groups and box.x0 < groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], box.x1)
            groups[-1][2].append(ax)
        else:
            groups.append([box.x0, box.x1, [ax]])
    if len(groups) <= 1 or any(text.get_text() for text in figure.texts) or figure.legends:
        return [(0, width, list(figure.axes))]  # one panel, or something across the panels
    cuts = [round((left[1] + right[0]) / 2) for left, right in itertools.pairwise(groups)]
    edges = [0, *(min(max(cut, 1), width - 1) for cut in cuts), width]
    return [(edges[k], edges[k + 1], group[2]) for k, group in enumerate(groups)]


def render_figure(figure: Any) -> tuple[Any, list[tuple[int, int, list]]]:
    """``figure``'s pixels (RGB, rows from the top) and its panels' pixel columns.

    A kept figure is redrawn only where it changed: when its layout, limits and
    axis labels are those of the last render, the pixels of the artists that
    did not change are restored, and those that did (the first changed one of
    each Axes and everything drawn after it, so the stacking stays that of a
    full draw) are drawn over them. Anything else draws the whole figure.
    """
    import numpy as np
    from matplotlib.axis import Axis
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    if figure.patch.get_alpha() not in (None, 1) or figure.get_facecolor()[3] < 1:
        figure.set_facecolor("white")
    for ax in figure.axes:
        ax.apply_aspect()  # limits that `adjustable="datalim"` sets while drawing
    order = {ax: _draw_order(ax) for ax in figure.axes}
    signature = _signature(figure, order)
    changed = {
        artist
        for artists in order.values()
        for artist in artists
        if artist.stale and not isinstance(artist, Axis)
    }
    others = [a for a in figure.get_children() if a is not figure.patch and a not in figure.axes]
    same_layout = not any(artist.stale for artist in others)
    frame = getattr(figure, "_dlcourse_frame", None)
    same_layout = same_layout and frame is not None and frame.signature == signature
    if same_layout and changed <= set(frame.dynamic):
        canvas.restore_region(frame.background)
        renderer = canvas.get_renderer()
        for artist in frame.dynamic:
            artist.draw(renderer)
    else:
        # What changed now will likely change on the next move too: leave it out
        # of the background (not on a first render, when everything is new).
        dynamic = []
        if frame is not None:
            for artists in order.values():
                first = next((k for k, a in enumerate(artists) if a in changed), None)
                dynamic += artists[first:] if first is not None else []
        for artist in dynamic:
            artist.set_animated(True)
        try:
            canvas.draw()
        finally:
            for artist in dynamic:
                artist.set_animated(False)
        renderer = canvas.get_renderer()
        background = canvas.copy_from_bbox(figure.bbox)
        for artist in dynamic:
            artist.draw(renderer)
        columns = frame.columns if same_layout else None
        if columns is None:
            width = canvas.get_width_height()[0]
            columns = _columns(figure, renderer, width) if len(figure.axes) > 1 else None
        frame = _Frame(signature, background, dynamic, columns)
        figure._dlcourse_frame = frame
    for artist in [*others, *(a for artists in order.values() for a in artists)]:
        artist.stale = False
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    width = pixels.shape[1]
    return pixels, frame.columns or [(0, width, list(figure.axes))]


# PNG compression: level 1 of zlib is about twice as fast as matplotlib's
# default (6) on these figures, for files about a third larger (sent locally).
PNG_COMPRESS_LEVEL = 1
# Where two panels sit side by side, each may shrink to this share of its
# width before they stack (with 1:1 panels of up to 395 px: side by side in
# the book's 688 px text column, stacked below about 600 px, e.g. phones).
STACK_SHARE = 0.8


def figure_html(figure: Any, settings: str = "") -> str:
    """``figure`` as ``<img>`` elements (PNG data URLs), one per panel, that wrap.

    Panels side by side in the figure are separate images in a wrapping flex
    row: side by side where they fit at STACK_SHARE of their size or more,
    stacked on a narrow page (a phone), each at most its natural size. The
    figure is closed afterwards: pyplot forgets it (the inline backend would
    show it again below the cell), while an ``update`` may still change and
    render it (see :func:`render_figure`). Each ``alt`` is
    :func:`describe_axes` of its panel followed by ``settings`` (the
    controls' values, as their readouts show them).
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import PlaceHolderLayoutEngine
    from PIL import Image

    # After fig.tight_layout() the figure keeps a placeholder layout engine; the
    # axes are already placed, so drop it (no layout work per render).
    rc = plt.rcParams
    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine) and not (
        rc["figure.autolayout"] or rc["figure.constrained_layout.use"]
    ):
        figure.set_layout_engine(None)
    plt.close(figure)
    pixels, columns = render_figure(figure)
    height = pixels.shape[0]
    images = []
    for left, right, axes in columns:
        buffer = io.BytesIO()
        Image.fromarray(pixels[:, left:right]).save(
            buffer, format="png", compress_level=PNG_COMPRESS_LEVEL
        )
        alt = describe_axes(axes) + (f"。設定: {settings}" if settings else "")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        width = right - left
        # The image fills a flex item of its own: an <img> with a width of 100 %
        # adds no minimum width to the page (one with a width would: 390 px on
        # a 358 px phone column), and the item holds the flex sizes.
        images.append(
            f'<div style="flex: {width} 1 {round(STACK_SHARE * width)}px; min-width: 0;'
            f' max-width: {width}px"><img class="dlcourse-figure" alt="{html.escape(alt)}"'
            f' width="{width}" height="{height}"'
            ' style="display: block; width: 100%; height: auto"'
            f' src="data:image/png;base64,{data}"></div>'
        )
    return (
        '<div class="dlcourse-figures" style="display: flex; flex-wrap: wrap;'
        f' align-items: flex-start">{"".join(images)}</div>'
    )


def settings_text(controls: dict[str, widgets.Widget]) -> str:
    """「学習率 = 0.005、エポック数 = 20」: every control's label and readout."""
    return "、".join(f"{control.description} = {readout(control)}" for control in controls.values())


class FigureArea(widgets.VBox):
    """What a redraw printed (an Output) above the figure (one HTML widget).

    :meth:`show` replaces the picture with one update of one widget's value;
    the Output changes only when the printed text does (e.g. an exercise that
    still raises NotImplementedError), also in one update.
    """

    def __init__(self) -> None:
        self.picture = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.messages = widgets.Output()
        self._printed = ""
        self.figure = None  # the figure an ``update`` changes in place
        super().__init__([self.messages, self.picture], layout=widgets.Layout(width="100%"))

    def show(
        self, figure: Any, settings: str, printed: str | None = None, keep: bool = False
    ) -> None:
        """Replace the picture by ``figure`` (kept for an ``update`` when ``keep``)."""
        import matplotlib.pyplot as plt

        if printed is not None and printed != self._printed:
            self._printed = printed
            stream = {"output_type": "stream", "name": "stdout", "text": printed}
            self.messages.outputs = (stream,) if printed else ()
        self.figure = figure if keep else None
        if figure is None:
            plt.close("all")
            self.picture.value = ""
        else:
            self.picture.value = figure_html(figure, settings)


def interactive_figure(
    draw: Callable[..., Any],
    controls: dict[str, widgets.Widget],
    per_row: int = 3,
    update: Callable[..., Any] | None = None,
) -> widgets.VBox:
    """Lay out ``controls`` above the figure that ``draw(**values)`` makes.

    ``draw`` returns a matplotlib figure or ``None``; it runs again whenever a
    control changes, and the new picture replaces the old one in one step.
    With ``update(figure, **values)``, the last figure is kept and changed in
    place (new data for its artists: no new figure, axes or text layout);
    ``update`` returns the figure, or ``None`` to have ``draw`` make a new one.
    """
    area = FigureArea()

    def redraw(_change: Any = None) -> None:
        values = {name: control.value for name, control in controls.items()}
        printed = io.StringIO()
        start = time.perf_counter()
        with redirect_stdout(printed):
            figure = None
            if update is not None and area.figure is not None:
                figure = update(area.figure, **values)
            if figure is None:
                figure = draw(**values)
        drawn = time.perf_counter()
        area.show(figure, settings_text(controls), printed.getvalue(), keep=update is not None)
        REDRAW_TIMES.append((drawn - start, time.perf_counter() - drawn))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    rows = control_rows(controls, per_row)
    return widgets.VBox([*rows, area], layout=widgets.Layout(width="100%"))


def no_progress(iterable: Any, **_kwargs: Any) -> Any:
    """A stand-in for tqdm where no progress bar is wanted (tests, scripts)."""
    return iterable


def notebook_progress(iterable: Any, **kwargs: Any) -> Any:
    """A tqdm progress bar that renders as a widget in Jupyter and as text elsewhere."""
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def button_figure(
    draw: Callable[..., Any],
    controls: dict[str, widgets.Widget],
    label: str = "学習する",
    per_row: int = 3,
    run_initially: bool = True,
) -> widgets.VBox:
    """Controls, a button, and the figure ``draw(progress=..., **values)`` makes on a press.

    For widgets that train a model: nothing is recomputed while sliders move;
    the button runs ``draw`` with a tqdm ``progress`` wrapper to use around the
    epoch loop (the bar shows above the figure while it trains). With
    ``run_initially`` the figure for the default values is drawn at once, so a
    static page (the book) shows it too.
    """
    area = FigureArea()
    button = widgets.Button(description=label, icon="play", tooltip=label)
    button.style.button_color = BUTTON_COLOR
    button.style.text_color = "white"

    def run(_button: Any = None) -> None:
        values = {name: control.value for name, control in controls.items()}
        button.disabled = True
        try:
            # The progress bar and any message stay above the figure until the next press.
            start = time.perf_counter()
            with area.messages:
                area.messages.clear_output()
                figure = draw(progress=notebook_progress, **values)
            drawn = time.perf_counter()
            area.show(figure, settings_text(controls))
            REDRAW_TIMES.append((drawn - start, time.perf_counter() - drawn))
        finally:
            button.disabled = False

    button.on_click(run)
    if run_initially:
        run()
    rows = control_rows(controls, per_row)
    return widgets.VBox([*rows, button, area], layout=widgets.Layout(width="100%"))


def dropdown(options: Any, value: Any, description: str) -> widgets.Dropdown:
    """A dropdown in the style of the sliders above."""
    return widgets.Dropdown(
        options=options,
        value=value,
        description=description,
        style={"description_width": "initial"},
    )
