"""Building blocks for the chapters' ipywidgets.

A widget's drawing callback is a plain function (tests call it directly with
the default values); the widget only wires sliders to it.
"""

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

NOT_IMPLEMENTED_MESSAGE = (
    "⚠ {name} がまだ実装されていません (NotImplementedError)。"
    " 上の演習セルを実装して実行してから、もう一度このセルを実行してください。"
)


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


def interactive_figure(
    draw: Callable[..., Any], controls: dict[str, widgets.Widget], per_row: int = 3
) -> widgets.VBox:
    """Lay out ``controls`` above the figure that ``draw(**values)`` makes.

    ``draw`` returns a matplotlib figure; it is shown in an Output widget and
    redrawn whenever a control changes.
    """
    import matplotlib.pyplot as plt

    output = widgets.Output()

    def redraw(_change: Any = None) -> None:
        values = {name: control.value for name, control in controls.items()}
        with output:
            output.clear_output(wait=True)
            figure = draw(**values)
            if figure is not None:
                plt.show()

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    items = list(controls.values())
    rows = [widgets.HBox(items[i : i + per_row]) for i in range(0, len(items), per_row)]
    return widgets.VBox([*rows, output])


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
    epoch loop. With ``run_initially`` the figure for the default values is
    drawn at once, so a static page (the book) shows it too.
    """
    import matplotlib.pyplot as plt

    output = widgets.Output()
    button = widgets.Button(description=label, button_style="primary", icon="play")

    def run(_button: Any = None) -> None:
        values = {name: control.value for name, control in controls.items()}
        button.disabled = True
        try:
            with output:
                output.clear_output(wait=True)
                figure = draw(progress=notebook_progress, **values)
                if figure is not None:
                    plt.show()
        finally:
            button.disabled = False

    button.on_click(run)
    if run_initially:
        run()
    items = list(controls.values())
    rows = [widgets.HBox(items[i : i + per_row]) for i in range(0, len(items), per_row)]
    return widgets.VBox([*rows, button, output])


def dropdown(options: Any, value: Any, description: str) -> widgets.Dropdown:
    """A dropdown in the style of the sliders above."""
    return widgets.Dropdown(
        options=options,
        value=value,
        description=description,
        style={"description_width": "initial"},
    )
