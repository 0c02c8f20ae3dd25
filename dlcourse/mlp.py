"""Helpers of chapter 04 (多層パーセプトロン): data sets, decision maps and the MLP widgets.

Nothing here builds the chapter's graded ``MLP``. The exercise's widget receives the
student's ``MLP`` class (``build_model(activation, input_feature_num,
hidden_unit_nums, output_feature_num)``); the book's widget receives a few fixed
architectures written out by hand, each a function of the activation factory.
"""

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import make_circles, make_moons

from dlcourse.logistic_regression import blobs_dataset  # noqa: F401 - chapter 04 uses it
from dlcourse.widgets import button_figure, call_student_function, dropdown, int_slider, no_progress

TOY_DATASETS = {"moons": "三日月 (moons)", "circles": "同心円 (circles)", "xor": "XOR"}
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "ReLU": nn.ReLU,
    "Leaky ReLU (0.1)": lambda: nn.LeakyReLU(0.1),
    "tanh": nn.Tanh,
    "シグモイド": nn.Sigmoid,
    "なし (恒等写像)": nn.Identity,
}

BuildModel = Callable[[Callable[[], nn.Module], int, list[int], int], nn.Module]


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one intra-op thread, then restore the previous setting.

    A network this small trains faster on one core: with several threads each
    tiny matrix product pays for the threads' synchronisation, badly so on a
    busy machine.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def toy_dataset(name: str = "moons", n_samples: int = 300, seed: int = 0):
    """A small 2-D, two-class toy set: ``"moons"``, ``"circles"`` or ``"xor"``.

    Returns ``X (n_samples, 2)`` float32 (roughly within [-2, 2]) and ``y`` int64.
    """
    if name == "moons":
        X, y = make_moons(n_samples=n_samples, noise=0.2, random_state=seed)
        X = (X - np.array([0.5, 0.25])) * 1.2
    elif name == "circles":
        X, y = make_circles(n_samples=n_samples, noise=0.1, factor=0.45, random_state=seed)
        X = X * 1.6
    elif name == "xor":
        rng = np.random.default_rng(seed)
        X = rng.uniform(-1.6, 1.6, size=(n_samples, 2))
        y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    else:
        raise ValueError(f"name は {sorted(TOY_DATASETS)} のいずれかです: {name!r}")
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def grid_points(X: torch.Tensor, steps: int = 150, margin: float = 0.3):
    """A ``steps x steps`` grid covering ``X`` plus a margin.

    Returns ``(xx, yy, points)``: the grid's coordinates, each ``(steps, steps)``,
    and the same points as rows of ``points (steps**2, 2)``.
    """
    low = X.min(dim=0).values - margin
    high = X.max(dim=0).values + margin
    xs = torch.linspace(float(low[0]), float(high[0]), steps)
    ys = torch.linspace(float(low[1]), float(high[1]), steps)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return xx, yy, torch.stack([xx.flatten(), yy.flatten()], dim=1)


def plot_decision_regions(model: nn.Module, X: torch.Tensor, y: torch.Tensor, ax=None, title=None):
    """Colour the plane by the model's probability of class 1, with the data on top.

    ``model`` maps ``(M, 2)`` points to two logits per point. The black line is
    the decision boundary (probability 0.5). Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.4))
    xx, yy, points = grid_points(X.cpu())
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(points.to(device)).cpu()  # (steps**2, 2)
    model.train(was_training)
    prob = torch.softmax(logits, dim=1)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=1.2)
    X, y = X.cpu(), y.cpu()
    for label, color in [(0, "tab:blue"), (1, "tab:red")]:
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=10, c=color, edgecolors="w", linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def draw_boundary(
    make_model: Callable[[], nn.Module],
    dataset: str = "moons",
    label: str = "",
    progress=no_progress,
    steps: int = 400,
    seed: int = 0,
):
    """Train ``make_model()`` on a toy set; draw its decision map and loss curve.

    Full-batch Adam (lr 0.02) with cross-entropy for ``steps`` steps, wrapped
    in ``progress``. ``label`` heads the map's title. Returns the figure, or
    ``None`` while the model (or its ``forward``) is not implemented.
    """
    X, y = toy_dataset(dataset, seed=seed)
    torch.manual_seed(seed)
    model = call_student_function(make_model)
    if model is None or call_student_function(model.forward, X[:1]) is None:  # a stub forward
        return None
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    model.train()
    with single_thread():
        for _ in progress(range(steps), desc="学習中", leave=False):
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            correct = int((model(X).argmax(dim=1) == y).sum())
    fig, (ax_map, ax_loss) = plt.subplots(
        1, 2, figsize=(7.4, 3.7), gridspec_kw={"width_ratios": [1.15, 1]}
    )
    plot_decision_regions(model, X, y, ax=ax_map, title=f"{label}\n正解率 {correct / len(y):.1%}")
    ax_loss.plot(losses)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("ステップ")
    ax_loss.set_ylabel("訓練損失 (交差エントロピー)")
    ax_loss.set_title(f"最終損失 {losses[-1]:.3f}")
    fig.tight_layout()
    return fig


def draw_mlp_boundary(
    build_model: BuildModel,
    dataset: str = "moons",
    activation: str = "ReLU",
    width: int = 16,
    depth: int = 2,
    progress=no_progress,
    steps: int = 400,
    seed: int = 0,
):
    """Train ``build_model(ACTIVATIONS[activation], 2, [width] * depth, 2)`` on a toy set.

    See :func:`draw_boundary`. Returns the figure, or ``None`` while
    ``build_model`` is not implemented.
    """

    def make_model():
        return build_model(ACTIVATIONS[activation], 2, [width] * depth, 2)

    make_model.__name__ = getattr(build_model, "__name__", "MLP")
    label = f"{activation}, 幅 {width}, 隠れ層 {depth} 層"
    return draw_boundary(make_model, dataset, label, progress=progress, steps=steps, seed=seed)


def mlp_boundary_widget(build_model: BuildModel, steps: int = 400):
    """Dataset, activation, width and depth -> trained decision map (the exercise's widget)."""

    def draw(dataset, activation, width, depth, progress=no_progress):
        return draw_mlp_boundary(
            build_model, dataset, activation, width, depth, progress=progress, steps=steps
        )

    controls = {
        "dataset": dropdown(
            [(label, key) for key, label in TOY_DATASETS.items()], "moons", "データ"
        ),
        "activation": dropdown(list(ACTIVATIONS), "ReLU", "活性化関数"),
        "width": int_slider(16, 1, 64, 1, "幅 (ユニット数)"),
        "depth": int_slider(2, 0, 4, 1, "隠れ層の数"),
    }
    return button_figure(draw, controls, per_row=2)


Architectures = dict[str, Callable[[Callable[[], nn.Module]], nn.Module]]


def draw_architecture_boundary(
    architectures: Architectures,
    dataset: str = "moons",
    activation: str = "ReLU",
    architecture: str | None = None,
    progress=no_progress,
    steps: int = 400,
    seed: int = 0,
):
    """Train ``architectures[architecture](ACTIVATIONS[activation])`` on a toy set.

    ``architectures`` maps a label to a function of the activation factory that
    returns a network for 2-D input and two logits; the first one is the
    default. See :func:`draw_boundary`.
    """
    if architecture is None:
        architecture = next(iter(architectures))

    def make_model():
        return architectures[architecture](ACTIVATIONS[activation])

    label = f"{activation}, {architecture}"
    return draw_boundary(make_model, dataset, label, progress=progress, steps=steps, seed=seed)


def architecture_boundary_widget(
    architectures: Architectures, value: str | None = None, steps: int = 400
):
    """Dataset, activation and one of a few fixed architectures -> decision map (the book's)."""

    def draw(dataset, activation, architecture, progress=no_progress):
        return draw_architecture_boundary(
            architectures, dataset, activation, architecture, progress=progress, steps=steps
        )

    controls = {
        "dataset": dropdown(
            [(label, key) for key, label in TOY_DATASETS.items()], "moons", "データ"
        ),
        "activation": dropdown(list(ACTIVATIONS), "ReLU", "活性化関数"),
        "architecture": dropdown(
            list(architectures), value or next(iter(architectures)), "ネットワークの形"
        ),
    }
    return button_figure(draw, controls, per_row=3)


def timing_summary(seconds_per_step: dict[int, float], n_samples: int) -> str:
    """A small table: batch size, steps per epoch, ms per step and estimated s per epoch."""
    lines = ["バッチサイズ  ステップ/エポック  ms/ステップ  1エポックの推定秒数"]
    for batch_size, seconds in seconds_per_step.items():
        n_steps = math.ceil(n_samples / batch_size)
        milliseconds, epoch_seconds = 1000 * seconds, n_steps * seconds
        lines.append(
            f"{batch_size:>10d}  {n_steps:>16d}  {milliseconds:>10.3f}  {epoch_seconds:>17.2f}"
        )
    return "\n".join(lines)
