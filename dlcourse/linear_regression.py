"""Helpers of chapter 02 (線形回帰): regression plots and the learning-rate widget.

Nothing here is a solution of the chapter's graded functions: the widget
receives the train/test split and an ``r2_fn(y_pred, y_true)`` from the
notebook (the book passes scikit-learn's, the exercise the student's
``r2_score``), and it trains with its own NumPy copy of mini-batch SGD so
that a slider can show many runs at once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dlcourse.widgets import call_student_function, int_slider, interactive_figure

LEARNING_RATES = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02)
DEFAULT_LEARNING_RATE = 0.005
DEFAULT_EPOCHS = 100
MAX_EPOCHS = 200


def as_array(values: Any) -> np.ndarray:
    """A float64 NumPy copy of an array or a (CPU) tensor, detached from autograd."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.array(values, dtype=np.float64)


def plot_observed_vs_predicted(
    ax, observed: Any, predicted: Any, label: str | None = None, color: str | None = None
):
    """A y-y plot: observed values on x, predictions on y, and the diagonal y = x.

    The closer the points lie to the diagonal, the better the predictions.
    Both arguments may be arrays or tensors of any shape with the same size.
    """
    observed, predicted = as_array(observed).ravel(), as_array(predicted).ravel()
    ax.scatter(observed, predicted, s=18, alpha=0.6, label=label, color=color)
    finite = predicted[np.isfinite(predicted)]
    low = min(observed.min(), finite.min(initial=observed.min()))
    high = max(observed.max(), finite.max(initial=observed.max()))
    ax.plot([low, high], [low, high], color="0.4", lw=1, ls="--")
    ax.set_xlabel("実測値")
    ax.set_ylabel("予測値")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    return ax


@dataclass
class SGDRuns:
    """Histories of mini-batch SGD on a linear model, one run per learning rate.

    ``train_loss[k, e]`` is the sample-weighted mean of the batch losses seen
    during epoch ``e + 1`` of run ``k``; ``test_loss[k, e]`` the test MSE after
    that epoch. ``W[k, e]`` (out, in) and ``b[k, e]`` (out,) are the
    parameters after ``e`` epochs (``e = 0``: the shared initial values).
    """

    learning_rates: tuple[float, ...]
    train_loss: np.ndarray  # (L, E)
    test_loss: np.ndarray  # (L, E)
    W: np.ndarray  # (L, E + 1, out, in)
    b: np.ndarray  # (L, E + 1, out)
    X_test: np.ndarray  # (M, in)
    Y_test: np.ndarray  # (M, out)

    def index(self, learning_rate: float) -> int:
        return int(np.argmin(np.abs(np.asarray(self.learning_rates) - learning_rate)))

    def predict_test(self, learning_rate: float, num_epochs: int) -> np.ndarray:
        """Test-set predictions ``(M, out)`` of one run after ``num_epochs`` epochs."""
        k = self.index(learning_rate)
        return self.X_test @ self.W[k, num_epochs].T + self.b[k, num_epochs]


def sgd_runs(
    X_train: Any,
    X_test: Any,
    Y_train: Any,
    Y_test: Any,
    learning_rates: tuple[float, ...] = LEARNING_RATES,
    num_epochs: int = MAX_EPOCHS,
    batch_size: int = 10,
    seed: int = 0,
) -> SGDRuns:
    """Train ``y = x W^T + b`` with mini-batch SGD on the MSE, for all learning rates at once.

    The runs share their initial parameters (drawn like ``nn.Linear``'s) and
    the shuffled order of the mini-batches, so they differ only in the
    learning rate. Runs that diverge end up with ``inf``/``nan`` entries.
    """
    X, Y = as_array(X_train), as_array(Y_train)
    X_t, Y_t = as_array(X_test), as_array(Y_test)
    if Y.ndim == 1:
        Y, Y_t = Y[:, None], Y_t[:, None]
    if len(X) != len(Y) or len(X_t) != len(Y_t) or X.shape[1:] != X_t.shape[1:]:
        raise ValueError(
            "データの形が合いません (順番は X_train, X_test, Y_train, Y_test): "
            f"X_train {X.shape}, X_test {X_t.shape}, Y_train {Y.shape}, Y_test {Y_t.shape}"
        )
    n, n_in = X.shape
    n_out = Y.shape[1]
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(n_in)
    W0 = rng.uniform(-bound, bound, size=(n_out, n_in))
    b0 = rng.uniform(-bound, bound, size=(n_out,))
    rates = np.asarray(learning_rates, dtype=np.float64)[:, None, None]  # (L, 1, 1)
    W = np.repeat(W0[None], len(learning_rates), axis=0)  # (L, out, in)
    b = np.repeat(b0[None], len(learning_rates), axis=0)  # (L, out)
    W_hist, b_hist = [W.copy()], [b.copy()]
    train_loss, test_loss = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_epochs):
            order = rng.permutation(n)
            weighted_sum = np.zeros(len(learning_rates))
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                xb, yb = X[rows], Y[rows]  # (B, in), (B, out)
                residual = np.einsum("bi,loi->lbo", xb, W) + b[:, None, :] - yb  # (L, B, out)
                weighted_sum += (residual**2).mean(axis=(1, 2)) * len(rows)
                scale = 2.0 / residual[0].size
                W = W - rates * scale * np.einsum("lbo,bi->loi", residual, xb)
                b = b - rates[:, :, 0] * scale * residual.sum(axis=1)
            train_loss.append(weighted_sum / n)
            test_residual = np.einsum("mi,loi->lmo", X_t, W) + b[:, None, :] - Y_t
            test_loss.append((test_residual**2).mean(axis=(1, 2)))
            W_hist.append(W.copy())
            b_hist.append(b.copy())
    return SGDRuns(
        learning_rates=tuple(learning_rates),
        train_loss=np.stack(train_loss, axis=1),
        test_loss=np.stack(test_loss, axis=1),
        W=np.stack(W_hist, axis=1),
        b=np.stack(b_hist, axis=1),
        X_test=X_t,
        Y_test=Y_t,
    )


@dataclass
class _RunView:
    """What :func:`plot_learning_rate_run` shows of one run after ``num_epochs``."""

    learning_rate: float
    train: np.ndarray  # (E,) the whole run
    test: np.ndarray  # (E,)
    diverged: bool
    loss_title: str
    predicted: np.ndarray | None  # (M, out); None when diverged
    yy_title: str
    yy_limits: tuple[float, float]  # the same for every run
    loss_limits: tuple[float, float]  # the same for every run


def _run_view(runs: SGDRuns, learning_rate: float, num_epochs: int, r2_fn) -> _RunView:
    k = runs.index(learning_rate)
    train, test = runs.train_loss[k], runs.test_loss[k]
    shown = train[:num_epochs]
    diverged = not np.all(np.isfinite(shown)) or shown[-1] > 10 * shown[0]
    loss_title = f"学習率 {runs.learning_rates[k]:g} の損失の推移"
    predicted, yy_title = None, ""
    observed = runs.Y_test.ravel()
    low, high = float(observed.min()), float(observed.max())
    if not diverged:
        predicted = runs.predict_test(learning_rate, num_epochs)  # (M, out)
        mse = float(np.mean((predicted - runs.Y_test) ** 2))
        yy_title = f"テストデータ ({num_epochs} エポック後)\nMSE {mse:.4f}"
        if r2_fn is not None:
            r2 = call_student_function(
                r2_fn,
                torch.from_numpy(predicted.astype(np.float32)),
                torch.from_numpy(runs.Y_test.astype(np.float32)),
            )
            if r2 is not None:
                yy_title += f", $R^2$ {float(r2):.3f}"
    # The same axes for every run and epoch (all predictions, clipped to one span
    # around the observed values; all losses up to the largest at the start): a
    # slider move only gives the lines and points new data.
    every = np.einsum("mi,leoi->lemo", runs.X_test, runs.W) + runs.b[:, :, None, :]
    every = every[np.isfinite(every)]
    span = high - low
    every = np.clip(every, low - span, high + span)
    low, high = min(low, float(every.min())), max(high, float(every.max()))
    pad = 0.05 * (high - low)
    losses = np.concatenate([runs.train_loss.ravel(), runs.test_loss.ravel()])
    smallest = float(losses[np.isfinite(losses) & (losses > 0)].min())
    # The largest first-epoch loss of the runs that converge (a diverging run
    # leaves the top of the panel, as its message on the right says).
    last, first = runs.train_loss[:, -1], runs.train_loss[:, 0]
    converging = np.isfinite(last) & (last <= 10 * first)
    firsts = np.concatenate([first[converging], runs.test_loss[converging, 0]])
    start = float(np.nanmax(firsts)) if firsts.size else float(np.nanmax(first))
    return _RunView(
        runs.learning_rates[k],
        train,
        test,
        diverged,
        loss_title,
        predicted,
        yy_title,
        (low - pad, high + pad),
        (smallest / 1.5, start * 1.5),
    )


def _shown(losses: np.ndarray) -> np.ndarray:
    """A whole run's losses as drawn: a diverging run's only up to 1000 times its start."""
    return np.where(np.isfinite(losses) & (losses < 1e3 * losses[0]), losses, np.nan)


def plot_learning_rate_run(
    runs: SGDRuns,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    num_epochs: int = DEFAULT_EPOCHS,
    r2_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
):
    """The loss curves of one run (left) and its test-set y-y plot after ``num_epochs`` (right).

    The loss panel shows the first ``num_epochs`` epochs in colour over the
    whole run in grey. ``r2_fn(y_pred, y_true)`` (float32 tensors) gives the R²
    in the title; it goes through :func:`call_student_function`, so an
    unimplemented exercise only prints a message. Returns the figure.
    """
    view = _run_view(runs, learning_rate, num_epochs, r2_fn)
    epochs = np.arange(1, len(view.train) + 1)

    fig, (ax_loss, ax_yy) = plt.subplots(1, 2, figsize=(7.5, 3.7))
    ax_loss.plot(epochs[:num_epochs], view.train[:num_epochs], label="訓練 (エポック平均)")
    ax_loss.plot(epochs[:num_epochs], view.test[:num_epochs], label="テスト (エポック終了時)")
    for values in (view.train, view.test):  # the whole run, under the curves so far
        ax_loss.plot(epochs, _shown(values), color="0.8", lw=1, zorder=1.9)
    ax_loss.axvline(num_epochs, color="0.4", ls=":", lw=1)
    ax_loss.set_yscale("log")
    margin = 0.05 * (len(epochs) - 1)
    ax_loss.set(xlim=(1 - margin, len(epochs) + margin), ylim=view.loss_limits)
    ax_loss.set_xlabel("エポック")
    ax_loss.set_ylabel("MSE (対数目盛)")
    ax_loss.set_title(view.loss_title)
    ax_loss.grid(True, alpha=0.3)
    ax_loss.legend(fontsize=9, loc="upper right")  # a fixed place: "best" is searched per draw

    if view.diverged:
        ax_yy.text(
            0.5,
            0.5,
            "学習が発散しました\n(損失が増え続けています)。\n学習率を下げてください。",
            ha="center",
            va="center",
            fontsize=12,
            transform=ax_yy.transAxes,
        )
        ax_yy.set_axis_off()
        fig.tight_layout()
        return fig

    plot_observed_vs_predicted(ax_yy, runs.Y_test, view.predicted, color="tab:orange")
    ax_yy.set(xlim=view.yy_limits, ylim=view.yy_limits)
    ax_yy.set_aspect("equal", adjustable="box")  # fixed limits: a square panel
    ax_yy.set_axisbelow(True)  # the grid under the points
    ax_yy.set_title(view.yy_title)
    fig.tight_layout()
    return fig


def update_learning_rate_run(
    fig,
    runs: SGDRuns,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    num_epochs: int = DEFAULT_EPOCHS,
    r2_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
):
    """Give a :func:`plot_learning_rate_run` figure a new run or epoch in place.

    The widget's fast path. Returns ``fig``, or ``None`` when the y-y panel
    would change between a plot and the divergence message (then the widget
    draws anew).
    """
    view = _run_view(runs, learning_rate, num_epochs, r2_fn)
    ax_loss, ax_yy = fig.axes
    if view.diverged == ax_yy.axison:
        return None
    train, test, whole_train, whole_test, marker = ax_loss.lines
    epochs = np.arange(1, len(view.train) + 1)
    train.set_data(epochs[:num_epochs], view.train[:num_epochs])
    test.set_data(epochs[:num_epochs], view.test[:num_epochs])
    if ax_loss.get_title() != view.loss_title:  # another run
        whole_train.set_ydata(_shown(view.train))
        whole_test.set_ydata(_shown(view.test))
        ax_loss.set_title(view.loss_title)
    marker.set_xdata([num_epochs, num_epochs])
    if not view.diverged:
        observed, predicted = runs.Y_test.ravel(), view.predicted.ravel()
        ax_yy.collections[0].set_offsets(np.column_stack([observed, predicted]))
        finite = predicted[np.isfinite(predicted)]
        low = min(observed.min(), finite.min(initial=observed.min()))
        high = max(observed.max(), finite.max(initial=observed.max()))
        ax_yy.lines[0].set_data([low, high], [low, high])
        ax_yy.set(xlim=view.yy_limits, ylim=view.yy_limits)
        ax_yy.set_title(view.yy_title)
    return fig


def learning_rate_widget(
    X_train: Any,
    X_test: Any,
    Y_train: Any,
    Y_test: Any,
    r2_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
):
    """Learning rate and number of epochs -> loss curves and test y-y plot (widget 2).

    The data come in the order ``split_odd_even`` returns them (exercise 2.1).
    All runs are trained once when the widget is built (well under a second);
    moving a slider only redraws.
    """
    runs = sgd_runs(X_train, X_test, Y_train, Y_test)

    def draw(learning_rate: float, num_epochs: int):
        return plot_learning_rate_run(runs, learning_rate, num_epochs, r2_fn)

    def update(fig, learning_rate: float, num_epochs: int):
        return update_learning_rate_run(fig, runs, learning_rate, num_epochs, r2_fn)

    controls = {
        "learning_rate": widgets.SelectionSlider(
            options=list(LEARNING_RATES),
            value=DEFAULT_LEARNING_RATE,
            description="学習率",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
        "num_epochs": int_slider(DEFAULT_EPOCHS, 1, MAX_EPOCHS, 1, "エポック数"),
    }
    return interactive_figure(draw, controls, per_row=2, update=update)
