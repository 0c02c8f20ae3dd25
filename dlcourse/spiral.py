"""Helpers of chapter 07 (スパイラル分類): the spiral data, batch loaders, decision maps, widget.

Nothing here splits the data, trains a network or scores it: the widget of the
exercise notebook receives the student's ``split_fn(X, y, seed)`` and
``train_fn(net, criterion, optimizer, train_loader, test_loader, num_epochs,
device)``; the book page passes its already split data, its own one-epoch
training function and its own accuracy function instead.
"""

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from matplotlib.colors import ListedColormap
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from dlcourse.widgets import button_figure, call_student_function, dropdown, int_slider, no_progress

NUM_CLASSES = 4
SIGMA = 0.16
POINTS_PER_CLASS = 1000
SEED = 2021
CLASS_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
# Light versions of CLASS_COLORS for the background of a decision map.
REGION_COLORS = ("#a9c8e4", "#fdc793", "#a6dba0", "#f0a3a3")

SplitFn = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]
TrainFn = Callable[..., tuple[float, float]]
EpochFn = Callable[..., object]
ScoreFn = Callable[..., float]
SplitData = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def spiral_dataset(
    K: int = NUM_CLASSES, sigma: float = SIGMA, N: int = POINTS_PER_CLASS, seed: int = SEED
):
    """``K`` noisy spiral arms of ``N`` points each, in the plane.

    Arm ``k`` is ``t * (sin(a) + sigma * e1, cos(a) + sigma * e2)`` with
    ``t`` evenly spaced in [0, 1], ``a = 2 pi / K * (2 t + k)`` and standard
    normal noise ``e1, e2`` (drawn per arm, first ``e1`` then ``e2``, from a
    generator seeded with ``seed``; the same numbers as the seed tutorial's
    generator after ``torch.manual_seed(seed)``). Returns ``X (K * N, 2)`` and
    the arm of each point ``y (K * N,)``, both float32 and ordered by arm.
    """
    generator = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, N)  # (N,)
    arms = []
    for k in range(K):
        angle = 2 * math.pi / K * (2 * t + k)  # (N,)
        noise_1 = torch.randn(N, generator=generator)
        noise_2 = torch.randn(N, generator=generator)
        x1 = t * (torch.sin(angle) + sigma * noise_1)
        x2 = t * (torch.cos(angle) + sigma * noise_2)
        arms.append(torch.stack([x1, x2], dim=1))  # (N, 2)
    X = torch.cat(arms)  # (K * N, 2)
    y = torch.arange(K, dtype=torch.float32).repeat_interleave(N)  # (K * N,)
    return X, y


def batch_loader(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int = SEED,
) -> DataLoader:
    """A ``DataLoader`` over ``(X, y)`` that fetches each batch with one indexing operation.

    A plain ``DataLoader(TensorDataset(X, y), batch_size=...)`` reads the
    samples one by one and stacks them; for tensors already in memory the
    ``BatchSampler`` hands the dataset a whole list of indices instead, which
    is several times faster. ``shuffle`` draws a new order every epoch from a
    generator seeded with ``seed``. No worker processes.
    """
    dataset = TensorDataset(X, y)
    if shuffle:
        order = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    else:
        order = SequentialSampler(dataset)
    sampler = BatchSampler(order, batch_size=batch_size, drop_last=False)
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def relu_net(width: int = 128, depth: int = 1, n_in: int = 2, n_out: int = NUM_CLASSES):
    """An ``nn.Sequential`` with ``depth`` hidden ReLU layers of ``width`` units."""
    sizes = [n_in] + [width] * depth
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], n_out))
    return nn.Sequential(*layers)


def sample_grid(M: int = 200, x_max: float = 2.0) -> torch.Tensor:
    """The ``M x M`` points of a square grid on ``[-x_max, x_max]^2``, shaped ``(M * M, 2)``.

    Row-major with ``x2`` slowest: ``sample_grid(M).reshape(M, M, 2)[i, j]``
    is the point ``(x1_j, x2_i)``, so a ``(M, M)`` map of per-point values is
    an image with ``x1`` across and ``x2`` up (``imshow(..., origin="lower")``).
    """
    ticks = torch.linspace(-x_max, x_max, M)
    x2, x1 = torch.meshgrid(ticks, ticks, indexing="ij")  # (M, M) each
    return torch.stack([x1.flatten(), x2.flatten()], dim=1)  # (M * M, 2)


def predict_grid(net: nn.Module, M: int = 200, x_max: float = 2.0) -> torch.Tensor:
    """The class ``net`` predicts at each point of ``sample_grid(M, x_max)``, as an ``(M, M)`` map.

    The network is evaluated in eval mode without gradients; its mode is
    restored afterwards.
    """
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    with torch.no_grad():
        scores = net(sample_grid(M, x_max).to(device))  # (M * M, K)
    net.train(was_training)
    return scores.argmax(dim=1).reshape(M, M).cpu()  # (M, M)


def plot_spiral(X: torch.Tensor, y: torch.Tensor, ax=None, title: str | None = None, s: float = 4):
    """Scatter the points coloured by class. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.4))
    X, y = X.detach().cpu(), y.detach().cpu()
    for k in range(int(y.max()) + 1):
        arm = X[y == k]
        ax.scatter(arm[:, 0], arm[:, 1], s=s, color=CLASS_COLORS[k % 4], label=f"クラス {k}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def plot_decision_map(
    class_map: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    x_max: float = 2.0,
    ax=None,
    title: str | None = None,
):
    """Colour ``[-x_max, x_max]^2`` by the predicted class, with the points ``(X, y)`` on top.

    ``class_map`` is an ``(M, M)`` map from :func:`predict_grid`. The points are
    drawn in the darker colour of their true class, so a point whose colour
    differs from the background around it is misclassified. Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.imshow(
        class_map.numpy(),
        origin="lower",
        extent=(-x_max, x_max, -x_max, x_max),
        cmap=ListedColormap(REGION_COLORS),
        vmin=-0.5,
        vmax=NUM_CLASSES - 0.5,
        interpolation="nearest",
    )
    X, y = X.detach().cpu(), y.detach().cpu()
    for k in range(NUM_CLASSES):
        arm = X[y == k]
        ax.scatter(arm[:, 0], arm[:, 1], s=6, color=CLASS_COLORS[k], edgecolors="k", linewidths=0.2)
    ax.set_xlim(-x_max, x_max)
    ax.set_ylim(-x_max, x_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def draw_spiral_training(
    split_fn: SplitFn | None = None,
    train_fn: TrainFn | None = None,
    width: int = 128,
    depth: int = 2,
    epochs: int = 20,
    progress=no_progress,
    lr: float = 1e-3,
    batch_size: int = 128,
    seed: int = SEED,
    *,
    data: SplitData | None = None,
    epoch_fn: EpochFn | None = None,
    score_fn: ScoreFn | None = None,
):
    """Train ``relu_net(width, depth)`` on the spiral data and draw what it learnt.

    Either the exercise's pair: the data are split by ``split_fn(X, y, seed)``
    (returning ``X_test, y_test, X_train, y_train``) and each epoch is one
    ``train_fn(net, criterion, optimizer, train_loader, test_loader,
    num_epochs=1, device="cpu")`` call, which returns the two accuracies. Or the
    book's three pieces: ``data = (X_test, y_test, X_train, y_train)``, an
    ``epoch_fn(net, criterion, optimizer, train_loader)`` that trains one epoch
    and a ``score_fn(net, X, y)`` that returns an accuracy in percent.

    Adam (``lr``) with cross-entropy, on the CPU (the network is tiny), for
    ``epochs`` epochs wrapped in ``progress``. Returns the figure (decision map
    with the test points, accuracy per epoch), or ``None`` while a student
    function is not implemented.
    """
    if data is None:
        X, y = spiral_dataset()
        data = call_student_function(split_fn, X, y, seed)
        if data is None:
            return None
    X_test, y_test, X_train, y_train = data
    train_loader = batch_loader(X_train, y_train, batch_size, shuffle=True, seed=seed)
    test_loader = batch_loader(X_test, y_test, batch_size)
    torch.manual_seed(seed)
    net = relu_net(width, depth)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()

    def one_epoch():
        if train_fn is not None:
            return call_student_function(
                train_fn,
                net,
                criterion,
                optimizer,
                train_loader,
                test_loader,
                num_epochs=1,
                device="cpu",
            )
        epoch_fn(net, criterion, optimizer, train_loader)
        return score_fn(net, X_train, y_train), score_fn(net, X_test, y_test)

    history = []
    for _ in progress(range(epochs), desc="学習中", leave=False):
        scores = one_epoch()
        if scores is None:
            return None
        history.append(scores)
    train_acc, test_acc = history[-1]

    fig, (ax_map, ax_acc) = plt.subplots(
        1, 2, figsize=(7.6, 3.8), gridspec_kw={"width_ratios": [1.05, 1]}
    )
    plot_decision_map(
        predict_grid(net),
        X_test,
        y_test,
        ax=ax_map,
        title=f"幅 {width}, 隠れ層 {depth} 層, {epochs} エポック",
    )
    epoch_axis = range(1, len(history) + 1)
    ax_acc.plot(epoch_axis, [train for train, _ in history], label=f"訓練 {train_acc:.1f} %")
    ax_acc.plot(epoch_axis, [test for _, test in history], label=f"テスト {test_acc:.1f} %")
    ax_acc.set_xlabel("エポック")
    ax_acc.set_ylabel("正解率 (%)")
    ax_acc.set_ylim(0, 100)
    ax_acc.legend(loc="lower right")
    ax_acc.set_title("正解率の推移")
    fig.tight_layout()
    return fig


def spiral_widget(
    split_fn: SplitFn | None = None,
    train_fn: TrainFn | None = None,
    run_initially: bool = True,
    *,
    data: SplitData | None = None,
    epoch_fn: EpochFn | None = None,
    score_fn: ScoreFn | None = None,
):
    """Width, depth and epochs -> decision map and accuracy curves, trained on a button (widget 7).

    Pass ``split_fn`` and ``train_fn`` (the exercise notebook) or ``data``,
    ``epoch_fn`` and ``score_fn`` (the book), as in :func:`draw_spiral_training`.
    The ranges keep a press within a few seconds of CPU time (the largest
    setting, width 128, 3 hidden layers and 60 epochs, about 5 s on one core).
    With ``run_initially`` the default network (128, 2 layers, 20 epochs) is
    trained and drawn at once, for the static book page; otherwise only a
    button press trains.
    """
    exercise = [split_fn, train_fn]
    book = [data, epoch_fn, score_fn]
    exercise_only = None not in exercise and book == [None] * 3
    book_only = None not in book and exercise == [None] * 2
    if not (exercise_only or book_only):
        raise TypeError("pass either split_fn and train_fn, or data, epoch_fn and score_fn")

    def draw(width, depth, epochs, progress=no_progress):
        return draw_spiral_training(
            split_fn,
            train_fn,
            width,
            depth,
            epochs,
            progress=progress,
            data=data,
            epoch_fn=epoch_fn,
            score_fn=score_fn,
        )

    controls = {
        "width": dropdown([2, 4, 8, 16, 32, 64, 128], 128, "幅 (ユニット数)"),
        "depth": int_slider(2, 1, 3, 1, "隠れ層の数"),
        "epochs": int_slider(20, 5, 60, 5, "エポック数"),
    }
    return button_figure(draw, controls, per_row=3, run_initially=run_initially)
