"""Helpers of chapter 05 (誤差逆伝播をゼロから): data, plots and the training widgets.

Nothing here computes a gradient: the widgets receive the training code as an
argument (the book passes its own from-scratch XOR network, the exercise the
student's ``numpy_two_layer_step``), so no graded function is solved here.
"""

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from dlcourse.widgets import button_figure, call_student_function, dropdown, no_progress

# Seed 003's split of scikit-learn's bundled 8x8 digits: 1437 training and 360 test images.
DIGITS_TEST_SIZE = 0.2
DIGITS_RANDOM_STATE = 42

# Seed 002's warm-up network: batch, input, hidden and output sizes.
WARMUP_SHAPES = {"N": 64, "D_in": 1000, "H": 100, "D_out": 10}

# history returned by a widget's training function: lists with one value per epoch.
History = dict[str, list[float]]
TrainFn = Callable[..., History]
StepFn = Callable[..., tuple[Any, np.ndarray, np.ndarray]]


def use_one_thread() -> None:
    """Run PyTorch and NumPy's BLAS on a single thread for the rest of the session.

    The matrices of chapter 05 are tiny (at most 64 x 1000): several threads
    only add synchronisation, which on a busy machine makes NumPy's 500-step
    warm-up ten times slower. Called explicitly by the chapter's notebooks.
    """
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def load_digits_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 8x8 digits, split and scaled as in chapter 05 (and as its grader does).

    ``train_test_split(test_size=0.2, random_state=42)`` of ``load_digits()``
    (bundled with scikit-learn, no download), then every pixel is standardised
    with the *training* set's overall mean and standard deviation (two scalars
    over all 1437 x 64 pixel values, not one per pixel; as in seed 003).
    Returns ``X_train (1437, 64)``, ``X_test (360, 64)`` float32 and
    ``y_train (1437,)``, ``y_test (360,)`` int64 labels 0-9.
    """
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data,
        digits.target,
        test_size=DIGITS_TEST_SIZE,
        random_state=DIGITS_RANDOM_STATE,
    )
    mean, std = X_train.mean(), X_train.std()

    def scaled(X: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((X - mean) / std).astype(np.float32))

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(y.astype(np.int64))

    return scaled(X_train), scaled(X_test), labels(y_train), labels(y_test)


def xor_problem(n: int = 200, seed: int = 0, spread: float = 0.4):
    """A 2-D XOR task: four Gaussian clouds at (+-1, +-1), as float64 NumPy arrays.

    ``x (n, 2)``; ``y (n, 1)`` is 1 for the clouds at (1, 1) and (-1, -1) and 0
    for the other two, so no straight line separates the classes. Each point
    picks one of the four centres at random and adds normal noise of standard
    deviation ``spread``, drawn with ``np.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    centres = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    cloud = rng.integers(0, 4, n)
    x = centres[cloud] + spread * rng.standard_normal((n, 2))
    y = (cloud < 2).astype(np.float64)[:, None]
    return x, y


def plot_xor(x, y, predict=None, ax=None, title=None):
    """Scatter an XOR set by class; with ``predict`` (``(M, 2)`` -> ``(M, 1)`` in
    [0, 1]) also shade its predicted probability of class 1. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8))
    if predict is not None:
        grid = np.linspace(-2.5, 2.5, 101)
        gx, gy = np.meshgrid(grid, grid)
        points = np.column_stack([gx.ravel(), gy.ravel()])
        prob = np.asarray(predict(points), dtype=np.float64).reshape(gx.shape)
        image = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        plt.colorbar(image, ax=ax, label="クラス 1 の予測確率")
    labels = np.asarray(y).ravel()
    for value, colour, marker in [(0, "tab:blue", "o"), (1, "tab:red", "^")]:
        rows = labels == value
        ax.scatter(x[rows, 0], x[rows, 1], s=12, c=colour, marker=marker, label=f"クラス {value}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def plot_digit_samples(X: torch.Tensor, y: torch.Tensor, n: int = 10):
    """Show the first ``n`` images of ``X (M, 64)`` with their labels. Returns the figure."""
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 1.5))
    for ax, image, label in zip(np.atleast_1d(axes), X[:n], y[:n], strict=False):
        ax.imshow(image.reshape(8, 8).numpy(), cmap="gray_r")
        ax.set_title(f"{int(label)}")
        ax.axis("off")
    fig.tight_layout()
    return fig


def warmup_problem(hidden_size: int = WARMUP_SHAPES["H"], seed: int = 0):
    """Seed 002's random regression task and initial weights, as float64 NumPy arrays.

    ``x (64, 1000)``, ``y (64, 10)``, ``w1 (1000, hidden_size)``, ``w2
    (hidden_size, 10)``, all drawn from the standard normal distribution with
    ``np.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    n, d_in, d_out = WARMUP_SHAPES["N"], WARMUP_SHAPES["D_in"], WARMUP_SHAPES["D_out"]
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    w1 = rng.standard_normal((d_in, hidden_size))
    w2 = rng.standard_normal((hidden_size, d_out))
    return x, y, w1, w2


def plot_loss_log(losses, ax=None, label=None, title=None):
    """A loss curve on a logarithmic y axis (one value per step). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(np.arange(len(losses)), np.asarray(losses, dtype=np.float64), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("ステップ")
    ax.set_ylabel("損失 (対数目盛)")
    if title:
        ax.set_title(title)
    if label:
        ax.legend()
    return ax


def plot_training_curves(
    history: History, title: str | None = None, loss_label: str = "損失 (交差エントロピー)"
):
    """Loss (left) and accuracy (right) per epoch from a training history.

    ``history`` holds lists keyed ``train_loss``, ``test_loss``, ``train_accuracy``
    and ``test_accuracy`` (any of them may be missing), one value per epoch.
    ``title`` goes above the loss panel (not above the figure: a widget shows
    each panel as its own image). Returns the figure.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(7.8, 3.5))
    names = {"train": "訓練", "test": "テスト"}
    for split, label in names.items():
        for ax, key in [(ax_loss, f"{split}_loss"), (ax_acc, f"{split}_accuracy")]:
            values = history.get(key, [])
            if len(values):
                marker = "." if len(values) <= 50 else None
                ax.plot(np.arange(1, len(values) + 1), values, marker=marker, label=label)
    ax_loss.set_xlabel("エポック")
    ax_loss.set_ylabel(loss_label)
    ax_loss.legend()
    ax_acc.set_xlabel("エポック")
    ax_acc.set_ylabel("正解率")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.legend(loc="lower right")
    if history.get("test_accuracy"):
        ax_acc.set_title(f"最終エポックのテスト正解率 {history['test_accuracy'][-1]:.3f}")
    if title:
        ax_loss.set_title(title)
    fig.tight_layout()
    return fig


# Widget 5 (book): the from-scratch XOR network of section 5.3, trained full-batch.
LEARNING_RATES = [0.01, 0.1, 1.0, 10.0, 30.0]
HIDDEN_SIZES = [1, 2, 4, 8, 32]


def draw_training_curves(
    train_fn: TrainFn,
    learning_rate: float = 1.0,
    hidden_size: int = 8,
    num_epochs: int = 1000,
    progress=no_progress,
):
    """Train with ``train_fn`` and plot its loss and accuracy curves (widget 5's callback).

    ``train_fn(learning_rate=..., hidden_size=..., num_epochs=..., progress=...)``
    trains a network and returns its :data:`History`; ``progress`` wraps its
    epoch loop. Returns the figure, or ``None`` while ``train_fn`` is not
    implemented.
    """
    history = call_student_function(
        train_fn,
        learning_rate=learning_rate,
        hidden_size=hidden_size,
        num_epochs=num_epochs,
        progress=progress,
    )
    if history is None:
        return None
    return plot_training_curves(
        history,
        title=f"学習率 {learning_rate:g}, 隠れ層 {hidden_size} ユニット",
        loss_label="損失 (平均二乗誤差)",
    )


def training_curves_widget(
    train_fn: TrainFn,
    num_epochs: int = 1000,
    learning_rates=tuple(LEARNING_RATES),
    hidden_sizes=tuple(HIDDEN_SIZES),
    defaults: tuple[float, int] = (1.0, 8),
):
    """Learning rate and hidden size -> loss and accuracy curves (widget 5, trains on a button)."""

    def draw(learning_rate, hidden_size, progress=no_progress):
        return draw_training_curves(
            train_fn, learning_rate, hidden_size, num_epochs=num_epochs, progress=progress
        )

    controls = {
        "learning_rate": dropdown(
            [(f"{lr:g}", lr) for lr in learning_rates], defaults[0], "学習率"
        ),
        "hidden_size": dropdown(list(hidden_sizes), defaults[1], "隠れ層のユニット数"),
    }
    return button_figure(draw, controls, per_row=2)


WARMUP_LEARNING_RATES = [1e-7, 3e-7, 1e-6, 2e-6, 3e-6, 5e-6]
WARMUP_HIDDEN_SIZES = [5, 10, 30, 100, 200]


def run_warmup(
    step_fn: StepFn,
    learning_rate: float = 1e-6,
    hidden_size: int = 100,
    num_steps: int = 300,
    seed: int = 0,
    progress=no_progress,
) -> list[float] | None:
    """Iterate ``step_fn(x, y, w1, w2, learning_rate)`` on :func:`warmup_problem`.

    ``step_fn`` returns ``(loss, w1_new, w2_new)`` like the exercise's
    ``numpy_two_layer_step``. Stops early once the loss is no longer finite
    (divergence). Returns the losses, or ``None`` while ``step_fn`` is not
    implemented.
    """
    x, y, w1, w2 = warmup_problem(hidden_size, seed)
    losses: list[float] = []
    with np.errstate(over="ignore", invalid="ignore"):
        first = call_student_function(step_fn, x, y, w1, w2, learning_rate)
        if first is None:
            return None
        for step in progress(range(num_steps), desc="学習中", leave=False):
            loss, w1, w2 = first if step == 0 else step_fn(x, y, w1, w2, learning_rate)
            losses.append(float(loss))
            if not np.isfinite(losses[-1]):
                break
    return losses


def draw_warmup(
    step_fn: StepFn,
    learning_rate: float = 1e-6,
    hidden_size: int = 100,
    num_steps: int = 300,
    progress=no_progress,
):
    """The warm-up network's loss curve (log scale) for one learning rate and hidden size.

    Returns the figure, or ``None`` while ``step_fn`` is not implemented.
    """
    losses = run_warmup(step_fn, learning_rate, hidden_size, num_steps, progress=progress)
    if losses is None:
        return None
    fig, ax = plt.subplots(figsize=(3.9, 3.3))
    finite = [loss for loss in losses if np.isfinite(loss)]
    plot_loss_log(finite, ax=ax)
    if len(finite) < len(losses):
        title = f"発散しました (ステップ {len(finite)} で損失が inf/nan)"
    else:
        title = f"最終損失 {finite[-1]:.3g}"
    ax.set_title(f"学習率 {learning_rate:g}, H = {hidden_size}: {title}")
    ax.set_xlim(0, num_steps)
    fig.tight_layout()
    return fig


def warmup_widget(step_fn: StepFn, num_steps: int = 300):
    """Learning rate and hidden size of the NumPy warm-up network -> its loss curve (button)."""

    def draw(learning_rate, hidden_size, progress=no_progress):
        return draw_warmup(step_fn, learning_rate, hidden_size, num_steps, progress=progress)

    controls = {
        "learning_rate": dropdown(
            [(f"{lr:g}", lr) for lr in WARMUP_LEARNING_RATES], 1e-6, "学習率"
        ),
        "hidden_size": dropdown(WARMUP_HIDDEN_SIZES, 100, "隠れ層のユニット数 H"),
    }
    return button_figure(draw, controls, per_row=2)
