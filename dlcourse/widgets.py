"""Building blocks for the chapters' ipywidgets.

A widget's drawing callback is a plain function (tests call it directly with
the default values); the widget only wires its controls to it.

Every redraw replaces the picture in one step: the figure is rendered to a PNG
in the kernel and sent as the value of one HTML widget (an ``<img>`` whose
Japanese ``alt`` names what the figure shows and the controls' values). The
former Output widget needed a ``clear_output`` and a ``display`` message per
redraw, routed into the widget by a hook that the front end registers
asynchronously each time the Output's ``msg_id`` changes: a move could show a
cleared area, or lose the new picture to the page (nbval's "unhandled iopub
msg: clear_output").
"""

import base64
import html
import io
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


def describe_figure(figure: Any) -> str:
    """A Japanese text alternative for ``figure``: each panel's title and axis labels."""
    panels = []
    for ax in figure.axes:
        title = plain_text(ax.get_title())
        if not ax.axison and not title:
            continue
        labels = [
            f"{name} {plain_text(label)}"
            for name, label in (("横軸", ax.get_xlabel()), ("縦軸", ax.get_ylabel()))
            if label
        ]
        panel = title or "グラフ"
        panels.append(panel + (f" ({'、'.join(labels)})" if labels else ""))
    if len(panels) <= 1:
        return "図: " + (panels[0] if panels else "空の図")
    listed = "。".join(f"{number} つ目は {panel}" for number, panel in enumerate(panels, 1))
    return f"{len(panels)} つのグラフの図。{listed}"


def figure_html(figure: Any, settings: str = "") -> str:
    """``figure`` as one ``<img>`` (a PNG data URL) that scales down to the page width.

    The figure is closed afterwards: pyplot forgets it (the inline backend
    would show it again below the cell), while an ``update`` may still change
    and render it. The ``alt`` is :func:`describe_figure` followed by
    ``settings`` (the controls' values, as their readouts show them).
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    # After fig.tight_layout() the figure keeps a placeholder layout engine, for
    # which savefig draws the whole figure twice (a dry run, then the PNG); the
    # axes are already placed, so drop it: half the rendering time, same pixels.
    rc = plt.rcParams
    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine) and not (
        rc["figure.autolayout"] or rc["figure.constrained_layout.use"]
    ):
        figure.set_layout_engine(None)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi, facecolor="white")
    width, height = (round(size * figure.dpi) for size in figure.get_size_inches())
    alt = describe_figure(figure) + (f"。設定: {settings}" if settings else "")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img class="dlcourse-figure" alt="{html.escape(alt)}" width="{width}"'
        f' height="{height}" style="max-width: 100%; height: auto"'
        f' src="data:image/png;base64,{data}">'
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
