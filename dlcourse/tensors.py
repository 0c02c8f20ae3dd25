"""Helpers of chapter 01 (テンソルの基礎): the affine-map widget."""

from collections.abc import Callable

import matplotlib.pyplot as plt
import torch

from dlcourse.widgets import call_student_function, float_slider, interactive_figure

AffineFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def grid_lines(n_lines: int = 9, n_points: int = 21, extent: float = 1.0) -> torch.Tensor:
    """Points on a square grid, shaped ``(2 * n_lines, n_points, 2)``.

    The first ``n_lines`` polylines are horizontal, the others vertical.
    """
    ticks = torch.linspace(-extent, extent, n_lines)
    along = torch.linspace(-extent, extent, n_points)
    horizontal = torch.stack(torch.broadcast_tensors(along[None, :], ticks[:, None]), dim=-1)
    vertical = horizontal.flip(-1)
    return torch.cat([horizontal, vertical])


def plot_affine_grid(affine_fn: AffineFn, W: torch.Tensor, b: torch.Tensor):
    """Draw a grid before (grey) and after (blue) the map ``x -> affine_fn(x, W, b)``.

    The two arrows are the images of the unit vectors e1 and e2 drawn from the
    image of the origin: they are the columns of ``W``. Returns the figure, or
    ``None`` when ``affine_fn`` is not implemented yet.
    """
    lines = grid_lines()
    flat = lines.reshape(-1, 2)
    mapped = call_student_function(affine_fn, flat, W, b)
    if mapped is None:
        return None
    mapped = mapped.detach().reshape(lines.shape)
    origin = call_student_function(affine_fn, torch.zeros(1, 2), W, b)[0].detach()

    fig, ax = plt.subplots(figsize=(3.9, 3.9))
    for line in lines:
        ax.plot(line[:, 0], line[:, 1], color="0.8", lw=0.8)
    for i, line in enumerate(mapped):
        ax.plot(
            line[:, 0], line[:, 1], color="tab:blue" if i < len(mapped) // 2 else "tab:cyan", lw=1
        )
    for column, color, label in [
        (W[:, 0], "tab:red", r"$W e_1$"),
        (W[:, 1], "tab:green", r"$W e_2$"),
    ]:
        ax.annotate(
            "",
            xy=(origin + column).tolist(),
            xytext=origin.tolist(),
            arrowprops={"arrowstyle": "->", "color": color, "lw": 2},
        )
        ax.text(*(origin + 1.08 * column).tolist(), label, color=color)
    ax.set_title(affine_title(W))
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.grid(False)
    return fig


def affine_title(W: torch.Tensor) -> str:
    return f"アフィン変換 $XW^\\top + b$ (det W = {float(torch.linalg.det(W)):.2f})"


def update_affine_grid(fig, affine_fn: AffineFn, W: torch.Tensor, b: torch.Tensor):
    """Move the blue lines, arrows and title of a :func:`plot_affine_grid` figure to ``W, b``.

    The widget's fast path: no new figure, axes or text layout per slider move.
    Returns ``fig``, or ``None`` when ``affine_fn`` gives nothing (then the
    widget draws anew).
    """
    lines = grid_lines()
    mapped = call_student_function(affine_fn, lines.reshape(-1, 2), W, b)
    origin = call_student_function(affine_fn, torch.zeros(1, 2), W, b)
    if mapped is None or origin is None:
        return None
    mapped = mapped.detach().reshape(lines.shape)
    origin = origin[0].detach()
    ax = fig.axes[0]
    for artist, line in zip(ax.lines[len(lines) :], mapped, strict=True):
        artist.set_data(line[:, 0], line[:, 1])
    arrows = [text for text in ax.texts if hasattr(text, "xyann")]
    labels = [text for text in ax.texts if not hasattr(text, "xyann")]
    for arrow, label, column in zip(arrows, labels, (W[:, 0], W[:, 1]), strict=True):
        arrow.xy = tuple((origin + column).tolist())
        arrow.xyann = tuple(origin.tolist())
        label.set_position((origin + 1.08 * column).tolist())
    ax.set_title(affine_title(W))
    return fig


def affine_widget(affine_fn: AffineFn):
    """Sliders for a 2x2 matrix ``W`` and a bias ``b`` -> the grid they map (widget 1)."""

    def draw(w11: float, w12: float, w21: float, w22: float, b1: float, b2: float):
        W = torch.tensor([[w11, w12], [w21, w22]])
        b = torch.tensor([b1, b2])
        return plot_affine_grid(affine_fn, W, b)

    def update(fig, w11: float, w12: float, w21: float, w22: float, b1: float, b2: float):
        W = torch.tensor([[w11, w12], [w21, w22]])
        return update_affine_grid(fig, affine_fn, W, torch.tensor([b1, b2]))

    controls = {
        "w11": float_slider(1.0, -2.0, 2.0, 0.1, "W[0,0]"),
        "w12": float_slider(0.0, -2.0, 2.0, 0.1, "W[0,1]"),
        "w21": float_slider(0.0, -2.0, 2.0, 0.1, "W[1,0]"),
        "w22": float_slider(1.0, -2.0, 2.0, 0.1, "W[1,1]"),
        "b1": float_slider(0.0, -1.5, 1.5, 0.1, "b[0]"),
        "b2": float_slider(0.0, -1.5, 1.5, 0.1, "b[1]"),
    }
    return interactive_figure(draw, controls, per_row=2, update=update)
