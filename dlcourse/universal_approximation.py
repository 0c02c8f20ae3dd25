"""Helpers of chapter 06 (ReLU による関数近似): target functions, plots and the widgets.

The approximation itself is the chapter's exercise (``relu_basis``,
``approximate_function``, ``approximation_error``): the functions here receive
an approximating function as an argument and only sample, measure and draw
what it returns. The book page's widget draws a hand-set sum of three ReLUs
with fixed kinks (the tent of section 6.3), not an approximation of samples.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch

from dlcourse.widgets import (
    call_student_function,
    dropdown,
    float_slider,
    int_slider,
    interactive_figure,
)

ApproximateFn = Callable[[torch.Tensor, torch.Tensor], Any]


def step(x: torch.Tensor) -> torch.Tensor:
    """The unit step: 1 where ``x >= 0``, else 0 (same dtype as ``x``)."""
    return (x >= 0).to(x.dtype)


def square(x: torch.Tensor) -> torch.Tensor:
    """``x ** 2``."""
    return x**2


@dataclass(frozen=True)
class Target:
    """A function to approximate on the interval ``[a, b]``.

    ``label`` is for plots (matplotlib mathtext), ``name`` for the widget's menu.
    """

    name: str
    label: str
    func: Callable[[torch.Tensor], torch.Tensor]
    a: float
    b: float


TARGETS = {
    "sin": Target("sin(x)", r"$\sin x$", torch.sin, 0.0, 2 * math.pi),
    "abs": Target("|x|", r"$|x|$", torch.abs, -1.0, 1.0),
    "step": Target("ステップ関数", "ステップ関数", step, -1.0, 1.0),
    "square": Target("x²", r"$x^2$", square, -1.0, 1.0),
}


def sample_target(target: str, n_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_points`` equally spaced samples ``(x_train, y_train)`` of a target, both ``(n_points,)``.

    ``target`` is a key of :data:`TARGETS`.
    """
    spec = TARGETS[target]
    x_train = torch.linspace(spec.a, spec.b, n_points)
    return x_train, spec.func(x_train)


def plot_basis(ax, x, relu_acts, weights=None):
    """Draw each row of ``relu_acts`` against ``x`` (multiplied by ``weights`` if given)."""
    x = torch.as_tensor(x).detach().cpu()
    rows = torch.as_tensor(relu_acts).detach().cpu()
    if weights is not None:
        rows = rows * torch.as_tensor(weights).detach().cpu().reshape(-1, 1)
    colors = plt.cm.viridis(torch.linspace(0, 0.9, max(len(rows), 1)).tolist())
    for row, color in zip(rows, colors, strict=False):
        ax.plot(x, row, color=color, lw=1)
    ax.set_xlabel("$x$")
    ax.set_ylabel("重み付きの活性" if weights is not None else "活性")
    ax.set_title(f"基底関数: ずらした ReLU ({len(rows)} 個)")
    return ax


def plot_fit(ax, x, y_hat, target: Target | None = None, x_train=None, y_train=None):
    """Draw the approximation ``y_hat`` over ``x`` with the target and the samples."""
    x = torch.as_tensor(x).detach().cpu()
    if target is not None:
        ax.plot(x, target.func(x), color="0.6", lw=3, label=f"目標 {target.label}")
    ax.plot(x, torch.as_tensor(y_hat).detach().cpu(), color="tab:orange", lw=1.5, label="近似")
    if x_train is not None and y_train is not None:
        ax.plot(
            torch.as_tensor(x_train).detach().cpu().reshape(-1),
            torch.as_tensor(y_train).detach().cpu().reshape(-1),
            "o",
            color="tab:blue",
            ms=4,
            label="サンプル点",
        )
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_approximation(x, relu_acts, y_hat, target=None, x_train=None, y_train=None, title=None):
    """Two panels: the ReLU basis functions, and the approximation with the target."""
    fig, (ax_basis, ax_fit) = plt.subplots(1, 2, figsize=(7.8, 3.4))
    plot_basis(ax_basis, x, relu_acts)
    plot_fit(ax_fit, x, y_hat, target, x_train, y_train)
    ax_fit.set_title(title or "ReLU の重み付き和による近似")
    fig.tight_layout()
    return fig


def plot_error_curves(n_relus, errors: dict[str, Any], title: str = "最大誤差と ReLU の数"):
    """Log-log plot of the maximum error against the number of ReLUs, one line per target.

    A dashed guide line falls like ``1 / K**2``, a dotted one like ``1 / K``.
    """
    n = torch.as_tensor(n_relus, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (label, values), marker in zip(errors.items(), "osD^v", strict=False):
        ax.loglog(n, torch.as_tensor(values, dtype=torch.float64), marker + "-", label=label)
    ax.loglog(n, 0.5 * (n[0] / n) ** 2, "k--", lw=1, label=r"$\propto 1/K^2$")
    ax.loglog(n, 0.5 * (n[0] / n), "k:", lw=1, label=r"$\propto 1/K$")
    ax.set_xlabel("ReLU の数 $K$")
    ax.set_ylabel("最大絶対誤差")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def draw_approximation(approximate_fn: ApproximateFn, n_relus: int, target: str):
    """The widget's figure: ``approximate_fn`` applied to ``n_relus + 1`` samples of ``target``.

    ``approximate_fn(x_train, y_train)`` returns ``(y_hat, relu_acts, x)`` as in
    exercise 6.2. Returns the figure, or ``None`` while ``approximate_fn`` is not
    implemented yet.
    """
    spec = TARGETS[target]
    x_train, y_train = sample_target(target, n_relus + 1)
    result = call_student_function(approximate_fn, x_train, y_train)
    if result is None:
        return None
    y_hat, relu_acts, x = (torch.as_tensor(t).detach().cpu() for t in result)
    error = float((y_hat.reshape(-1) - spec.func(x).reshape(-1)).abs().max())
    title = f"{spec.label}: ReLU {n_relus} 個、最大誤差 {error:.4f}"
    return plot_approximation(x, relu_acts, y_hat, spec, x_train, y_train, title=title)


def approximation_widget(approximate_fn: ApproximateFn):
    """Number of ReLUs and target function -> basis, approximation and max error (widget 6)."""

    def draw(n_relus: int, target: str):
        return draw_approximation(approximate_fn, n_relus, target)

    controls = {
        "n_relus": int_slider(9, 1, 40, 1, "ReLU の数"),
        "target": dropdown(
            [(spec.name, key) for key, spec in TARGETS.items()], "sin", "目標の関数"
        ),
    }
    return interactive_figure(draw, controls, per_row=2)


#: Kinks of the three ReLUs of the book page's widget (the tent of section 6.3).
TENT_KINKS = (-1.0, 0.0, 1.0)


def _three_relus_data(v1: float, v2: float, v3: float, c: float):
    """``x``, the three weighted ReLUs, their sum, the legend labels and the slope labels."""
    x = torch.linspace(-2.5, 2.5, 501)
    weights = (v1, v2, v3)
    parts = [v * torch.relu(x - t) for v, t in zip(weights, TENT_KINKS, strict=True)]
    total = c + sum(parts)
    # The same labels for every weight (the sliders show the values): a legend that
    # does not change is not drawn again on a slider move.
    labels = [f"$v_{k}\\,\\mathrm{{ReLU}}(x - ({t:g}))$" for k, t in enumerate(TENT_KINKS, start=1)]
    edges = [-2.5, *TENT_KINKS, 2.5]
    slopes, slope = [], 0.0
    for k in range(4):
        middle = (edges[k] + edges[k + 1]) / 2
        height = float(total[int(torch.searchsorted(x, torch.tensor(middle)))])
        slopes.append((f"傾き {slope:g}", (middle, height)))
        if k < 3:
            slope += weights[k]
    return x, parts, total, labels, slopes


def _three_relus_ylim(parts, total) -> tuple[float, float]:
    """The lines' range, widened to even numbers (with room for the slope labels).

    Coarse steps: most slider moves keep the axes (and only the lines are redrawn).
    """
    values = torch.stack([*parts, total])
    low, high = float(values.min()) - 0.5, float(values.max()) + 1.0
    return 2 * math.floor(low / 2), 2 * math.ceil(high / 2)


def _three_relus_title(c: float) -> str:
    return f"3 個の ReLU の重み付き和\n(出力層のバイアス $c$ = {c:g})"


def draw_three_relus(v1: float = 1.0, v2: float = -2.0, v3: float = 1.0, c: float = 0.0):
    """The book widget's figure: ``c + v1 ReLU(x + 1) + v2 ReLU(x) + v3 ReLU(x - 1)``.

    The weighted ReLUs are drawn thin, their sum thick, and each of the four
    pieces is labelled with its slope (the running sum of the weights).
    """
    x, parts, total, labels, slopes = _three_relus_data(v1, v2, v3, c)
    fig, ax = plt.subplots(figsize=(3.9, 3.6))
    for part, label in zip(parts, labels, strict=True):
        ax.plot(x, part, lw=1, ls="--", label=label)
    ax.plot(x, total, color="black", lw=2.5, label="和 (出力)")
    for text, point in slopes:
        ax.annotate(text, point, textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    for t in TENT_KINKS:
        ax.axvline(t, color="0.85", lw=0.8, zorder=0)
    ax.set_ylim(*_three_relus_ylim(parts, total))
    ax.set_xlabel("$x$")
    ax.set_title(_three_relus_title(c))
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def update_three_relus(fig, v1: float, v2: float, v3: float, c: float):
    """Give a :func:`draw_three_relus` figure new weights in place (the widget's fast path)."""
    _, parts, total, labels, slopes = _three_relus_data(v1, v2, v3, c)
    ax = fig.axes[0]
    for line, values in zip(ax.lines[:4], [*parts, total], strict=True):
        line.set_ydata(values.numpy())
    for legend_text, label in zip(ax.get_legend().get_texts()[:3], labels, strict=True):
        legend_text.set_text(label)
    for annotation, (text, point) in zip(ax.texts, slopes, strict=True):
        annotation.set_text(text)
        annotation.xy = point
    ax.set_ylim(*_three_relus_ylim(parts, total))
    ax.set_title(_three_relus_title(c))
    return fig


def three_relus_widget():
    """Weights v1, v2, v3 and bias c of three ReLUs with kinks at -1, 0, 1 -> their sum."""
    controls = {
        "v1": float_slider(1.0, -3.0, 3.0, 0.5, "重み v1"),
        "v2": float_slider(-2.0, -3.0, 3.0, 0.5, "重み v2"),
        "v3": float_slider(1.0, -3.0, 3.0, 0.5, "重み v3"),
        "c": float_slider(0.0, -1.0, 1.0, 0.5, "バイアス c"),
    }
    return interactive_figure(draw_three_relus, controls, per_row=4, update=update_three_relus)
