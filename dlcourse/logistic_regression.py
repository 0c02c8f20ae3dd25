"""Helpers of chapter 03 (ロジスティック回帰): the blobs data and the decision-region widget.

Nothing here is a solution of the chapter's graded functions: the widget trains
with PyTorch's own ``F.cross_entropy`` / ``torch.sigmoid`` and may receive an
``accuracy_fn(scores, labels)`` from the notebook (the exercise passes the
student's ``accuracy``; the book passes none, so its titles show no accuracy).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_blobs

from dlcourse.iris import FEATURE_NAMES_JA, SPECIES_NAMES
from dlcourse.widgets import call_student_function, dropdown, int_slider, interactive_figure

BLOB_CENTERS = ((1.0, 1.0), (-1.0, -1.0))
SPECIES_COLORS = ("tab:blue", "tab:orange", "tab:green")
REGION_COLORS = ("#c6dbef", "#fdd0a2", "#c7e9c0")
MODEL_KINDS = {
    "softmax": "ソフトマックス + 交差エントロピー",
    "sigmoid": "シグモイド + 二乗誤差 (MSE)",
}
WIDGET_EPOCHS = 200
WIDGET_LEARNING_RATE = 0.1


def blobs_dataset(n_samples: int = 10000, random_state: int = 0):
    """Two Gaussian blobs around (1, 1) (label 0) and (-1, -1) (label 1), std 0.5 (seed 000).

    Returns ``X (N, 2)`` float32 and ``y (N,)`` int64 tensors.
    """
    X, y = make_blobs(
        n_samples=n_samples,
        n_features=2,
        centers=BLOB_CENTERS,
        cluster_std=0.5,
        random_state=random_state,
    )
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def blobs_train_test(n_samples: int = 10000):
    """The blobs as seed 000 uses them: train on ``random_state=0``, test on a fresh draw (1).

    Returns ``(X_train, y_train, X_test, y_test)``.
    """
    return blobs_dataset(n_samples, random_state=0) + blobs_dataset(n_samples, random_state=1)


def plot_two_classes(ax, X: torch.Tensor, y: torch.Tensor, max_points: int = 2000):
    """Scatter the first ``max_points`` points of a two-class 2-D set, one colour per label."""
    X, y = X[:max_points].detach().cpu().numpy(), y[:max_points].cpu().numpy()
    for label, color in zip((0, 1), ("tab:blue", "tab:red"), strict=True):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=6, alpha=0.35, color=color, label=f"y = {label}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", markerscale=3)
    return ax


@dataclass
class Snapshots:
    """Parameters of a 2-feature, 3-class linear classifier after each epoch of training.

    The model sees standardized inputs ``(x - mean) / std``; ``W[e]`` (3, 2)
    and ``b[e]`` (3,) are its parameters after ``e`` epochs (``e = 0``: the
    initial ones), ``loss[e]`` its training loss at that point.
    """

    kind: str
    W: torch.Tensor  # (E + 1, 3, 2)
    b: torch.Tensor  # (E + 1, 3)
    loss: torch.Tensor  # (E + 1,)
    mean: torch.Tensor  # (2,)
    std: torch.Tensor  # (2,)

    def scores(self, X: torch.Tensor, epoch: int) -> torch.Tensor:
        """The linear scores ``(N, 3)`` of raw 2-feature inputs ``X (N, 2)`` at ``epoch``."""
        return F.linear((X - self.mean) / self.std, self.W[epoch], self.b[epoch])


def train_snapshots(
    X: torch.Tensor,
    y: torch.Tensor,
    kind: str = "softmax",
    num_epochs: int = WIDGET_EPOCHS,
    lr: float = WIDGET_LEARNING_RATE,
    seed: int = 0,
) -> Snapshots:
    """Full-batch gradient descent on 2 standardized features, keeping every epoch's parameters.

    ``kind="softmax"``: logits trained with cross-entropy; ``kind="sigmoid"``:
    sigmoid outputs trained with the MSE against one-hot targets (the seed's
    model). One epoch is one step on the whole training set, which keeps the
    widget fast; both kinds start from the same parameters.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind は {sorted(MODEL_KINDS)} のどれかです: {kind!r}")
    X, y = X.float(), y.long()
    mean, std = X.mean(dim=0), X.std(dim=0)
    inputs = (X - mean) / std  # (N, 2)
    targets = F.one_hot(y, 3).float()  # (N, 3)
    # Drawn like nn.Linear's initial values, from a private generator (the
    # global random state of the notebook is left alone).
    generator = torch.Generator().manual_seed(seed)
    bound = 1 / np.sqrt(2)
    W = (torch.rand(3, 2, generator=generator) * 2 - 1).mul_(bound).requires_grad_()
    b = (torch.rand(3, generator=generator) * 2 - 1).mul_(bound).requires_grad_()

    def loss_now() -> torch.Tensor:
        logits = F.linear(inputs, W, b)  # (N, 3)
        if kind == "softmax":
            return F.cross_entropy(logits, y)
        return F.mse_loss(torch.sigmoid(logits), targets)

    Ws, bs, losses = [], [], []
    for epoch in range(num_epochs + 1):
        loss = loss_now()
        Ws.append(W.detach().clone())
        bs.append(b.detach().clone())
        losses.append(loss.detach())
        if epoch < num_epochs:
            grad_W, grad_b = torch.autograd.grad(loss, (W, b))
            with torch.no_grad():
                W -= lr * grad_W
                b -= lr * grad_b
    return Snapshots(kind, torch.stack(Ws), torch.stack(bs), torch.stack(losses), mean, std)


def region_grid(snapshots: Snapshots, epoch: int, X: torch.Tensor, resolution: int = 200):
    """The plane around ``X`` as ``(u, v, regions)``: the class with the largest score.

    In NumPy (float32, like the model): a few milliseconds for the 40 000
    points, where torch's small-tensor overhead took tens on a busy machine.
    """
    low = X.min(dim=0).values.numpy() - 0.5
    high = X.max(dim=0).values.numpy() + 0.5
    u = np.linspace(low[0], high[0], resolution, dtype=np.float32)
    v = np.linspace(low[1], high[1], resolution, dtype=np.float32)
    grid = np.stack(np.meshgrid(u, v, indexing="xy"), axis=-1).reshape(-1, 2)  # (R*R, 2)
    mean, std = snapshots.mean.numpy(), snapshots.std.numpy()
    W, b = snapshots.W[epoch].numpy(), snapshots.b[epoch].numpy()
    scores = ((grid - mean) / std) @ W.T + b
    return u, v, scores.argmax(axis=1).reshape(resolution, resolution)


def plot_decision_regions(
    ax,
    snapshots: Snapshots,
    epoch: int,
    X: torch.Tensor,
    y: torch.Tensor,
    resolution: int = 200,
    feature_names: Sequence[str] = (FEATURE_NAMES_JA[2], FEATURE_NAMES_JA[3]),
):
    """Colour the plane by the class with the largest score, and scatter the points on top."""
    u, v, regions = region_grid(snapshots, epoch, X, resolution)
    low = X.min(dim=0).values - 0.5
    high = X.max(dim=0).values + 0.5
    # One image cell per grid point (centred on it), as pcolormesh(shading="auto")
    # would draw it, but an image: a few ms instead of tens for the 40 000 quads.
    du, dv = (u[1] - u[0]) / 2, (v[1] - v[0]) / 2
    ax.imshow(
        regions,
        cmap=ListedColormap(REGION_COLORS),
        vmin=0,
        vmax=2,
        origin="lower",
        extent=(u[0] - du, u[-1] + du, v[0] - dv, v[-1] + dv),
        interpolation="nearest",
        aspect="auto",
        zorder=0.6,  # above the axes' ticks (behind with set_axisbelow), below the points
    )
    X, y = X.detach().cpu().numpy(), y.cpu().numpy()
    for label, (name, color) in enumerate(zip(SPECIES_NAMES, SPECIES_COLORS, strict=True)):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=18, color=color, edgecolor="white", lw=0.5, label=name)
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_xlim(float(low[0]), float(high[0]))
    ax.set_ylim(float(low[1]), float(high[1]))
    ax.legend(loc="upper left", fontsize=9)
    return ax


@dataclass
class RegionState:
    """What the decision-region widget draws from: data and both models' snapshots."""

    X_train: torch.Tensor  # (N, 2)
    y_train: torch.Tensor  # (N,)
    X_test: torch.Tensor  # (M, 2)
    y_test: torch.Tensor  # (M,)
    snapshots: dict[str, Snapshots]


def region_state(
    X_train: Any, y_train: Any, X_test: Any, y_test: Any, features: tuple[int, int] = (2, 3)
) -> RegionState:
    """Pick two Iris features and train both model kinds once (a fraction of a second)."""
    columns = list(features)
    X_train = torch.as_tensor(X_train, dtype=torch.float32)[:, columns]
    X_test = torch.as_tensor(X_test, dtype=torch.float32)[:, columns]
    y_train = torch.as_tensor(y_train).long()
    y_test = torch.as_tensor(y_test).long()
    snapshots = {kind: train_snapshots(X_train, y_train, kind) for kind in MODEL_KINDS}
    return RegionState(X_train, y_train, X_test, y_test, snapshots)


def _region_title(state: RegionState, kind: str, epoch: int, accuracy_fn) -> str:
    snapshots = state.snapshots[kind]
    title = f"{MODEL_KINDS[kind]}\n{epoch} エポック後"
    if accuracy_fn is not None:
        train_acc = call_student_function(
            accuracy_fn, snapshots.scores(state.X_train, epoch), state.y_train
        )
        test_acc = call_student_function(
            accuracy_fn, snapshots.scores(state.X_test, epoch), state.y_test
        )
        if train_acc is not None and test_acc is not None:
            title += f"\n正解率 訓練 {float(train_acc):.1%} / テスト {float(test_acc):.1%}"
    return title


def plot_region_epoch(
    state: RegionState,
    kind: str = "softmax",
    epoch: int = 20,
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
):
    """Decision regions at ``epoch`` (left) and the training loss so far (right).

    ``accuracy_fn(scores, labels)`` gives the train and test accuracy in the
    title; it goes through :func:`call_student_function`. Returns the figure.
    """
    snapshots = state.snapshots[kind]
    fig, (ax_regions, ax_loss) = plt.subplots(
        1, 2, figsize=(7.2, 3.7), gridspec_kw={"width_ratios": [1.25, 1]}
    )
    plot_decision_regions(ax_regions, snapshots, epoch, state.X_train, state.y_train)
    ax_regions.set_axisbelow(True)  # ticks outside: the same picture, drawn before the regions
    ax_regions.set_title(_region_title(state, kind, epoch, accuracy_fn), fontsize=11)

    ax_loss.plot(snapshots.loss.numpy(), color="0.75", label="全エポック")
    ax_loss.plot(snapshots.loss[: epoch + 1].numpy(), color="tab:purple", label="ここまで")
    ax_loss.axvline(epoch, color="tab:purple", ls=":", lw=1)
    ax_loss.set_xlabel("エポック (全データで 1 ステップ)")
    ax_loss.set_ylabel("訓練データの損失")
    ax_loss.set_title("損失の推移", fontsize=11)
    ax_loss.grid(True, alpha=0.3)
    ax_loss.legend(loc="upper right")  # a fixed place: "best" is searched on every draw
    fig.tight_layout()
    return fig


def update_region_epoch(
    fig,
    state: RegionState,
    kind: str = "softmax",
    epoch: int = 20,
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
):
    """Give a :func:`plot_region_epoch` figure another model or epoch in place.

    The widget's fast path: new regions, loss curves, marker and title.
    Returns ``fig``.
    """
    snapshots = state.snapshots[kind]
    ax_regions, ax_loss = fig.axes
    _, _, regions = region_grid(snapshots, epoch, state.X_train)
    ax_regions.images[0].set_data(regions)
    ax_regions.set_title(_region_title(state, kind, epoch, accuracy_fn))
    whole, so_far, marker = ax_loss.lines
    loss = snapshots.loss.numpy()
    if not np.array_equal(whole.get_ydata(), loss):  # another model
        whole.set_data(np.arange(len(loss)), loss)
    so_far.set_data(np.arange(epoch + 1), loss[: epoch + 1])
    marker.set_xdata([epoch, epoch])
    ax_loss.relim()
    ax_loss.autoscale_view()
    return fig


def decision_region_widget(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
    features: tuple[int, int] = (2, 3),
):
    """Model kind and epoch slider -> decision regions on two Iris features (widget 3).

    ``X_train``/``X_test`` hold all four Iris measurements; ``features``
    picks two (default: petal length and width). Both models are trained
    once; the slider only redraws from the stored snapshots.
    """
    state = region_state(X_train, y_train, X_test, y_test, features)

    def draw(kind: str, epoch: int):
        return plot_region_epoch(state, kind, epoch, accuracy_fn)

    def update(fig, kind: str, epoch: int):
        return update_region_epoch(fig, state, kind, epoch, accuracy_fn)

    controls = {
        "kind": dropdown(
            [(label, kind) for kind, label in MODEL_KINDS.items()], "softmax", "モデル"
        ),
        "epoch": int_slider(20, 0, WIDGET_EPOCHS, 1, "エポック"),
    }
    return interactive_figure(draw, controls, per_row=2, update=update)
