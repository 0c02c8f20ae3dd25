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
