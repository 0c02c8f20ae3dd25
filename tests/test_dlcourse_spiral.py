"""Unit tests of dlcourse.spiral (chapter 07): data, loaders, grid, decision maps, widget."""

import math

import matplotlib
import pytest
import torch
import torch.nn as nn

import dlcourse
from dlcourse import spiral

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def japanese_font_and_one_thread():
    """Japanese plot text without missing glyphs; one thread, as the notebooks use."""
    saved_font, saved_threads = matplotlib.rcParams["font.family"], torch.get_num_threads()
    dlcourse.use_japanese_font()
    torch.set_num_threads(1)
    yield
    matplotlib.rcParams["font.family"] = saved_font
    torch.set_num_threads(saved_threads)


def seed_tutorial_spiral(K, sigma, N):
    """The seed tutorial's generator (global RNG, one arm at a time), for comparison."""
    t = torch.linspace(0, 1, N)
    X = torch.zeros(K * N, 2)
    y = torch.zeros(K * N)
    for k in range(K):
        angle = 2 * math.pi / K * (2 * t + k)
        X[k * N : (k + 1) * N, 0] = t * (torch.sin(angle) + sigma * torch.randn(N))
        X[k * N : (k + 1) * N, 1] = t * (torch.cos(angle) + sigma * torch.randn(N))
        y[k * N : (k + 1) * N] = k
    return X, y


def test_spiral_dataset_reproduces_the_seed_tutorial():
    X, y = spiral.spiral_dataset()
    assert X.shape == (4000, 2) and y.shape == (4000,)
    assert X.dtype == torch.float32 and y.dtype == torch.float32
    assert torch.bincount(y.long()).tolist() == [1000] * 4
    state = torch.get_rng_state()
    torch.manual_seed(2021)
    X_seed, y_seed = seed_tutorial_spiral(4, 0.16, 1000)
    torch.set_rng_state(state)
    assert torch.equal(X, X_seed) and torch.equal(y, y_seed)


def test_spiral_dataset_leaves_the_global_rng_alone_and_follows_its_arguments():
    state = torch.get_rng_state()
    X, y = spiral.spiral_dataset(K=3, sigma=0.0, N=5, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert X.shape == (15, 2) and y.tolist() == [0.0] * 5 + [1.0] * 5 + [2.0] * 5
    # without noise the points lie on the curve t (sin a, cos a): radius t
    assert torch.allclose(X.norm(dim=1), torch.linspace(0, 1, 5).repeat(3), atol=1e-6)


def test_batch_loader_yields_whole_batches_in_one_indexing():
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10.0)
    plain = list(spiral.batch_loader(X, y, batch_size=4))
    assert [len(yb) for _, yb in plain] == [4, 4, 2]
    assert torch.equal(torch.cat([yb for _, yb in plain]), y)
    shuffled = spiral.batch_loader(X, y, batch_size=4, shuffle=True, seed=3)
    first = torch.cat([yb for _, yb in shuffled])
    second = torch.cat([yb for _, yb in shuffled])
    assert sorted(first.tolist()) == y.tolist() and not torch.equal(first, second)
    for xb, yb in shuffled:
        assert torch.equal(xb[:, 0], 2 * yb)  # rows stay with their labels
    again = spiral.batch_loader(X, y, batch_size=4, shuffle=True, seed=3)
    assert torch.equal(torch.cat([yb for _, yb in again]), first)
    assert len(shuffled.dataset) == 10 and shuffled.num_workers == 0


def test_relu_net_layout():
    net = spiral.relu_net(width=16, depth=3)
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["Linear", "ReLU"] * 3 + ["Linear"]
    assert net[0].in_features == 2 and net[-1].out_features == 4
    assert net(torch.zeros(5, 2)).shape == (5, 4)


def test_sample_grid_is_x1_across_and_x2_up():
    grid = spiral.sample_grid(M=3, x_max=1.0)
    assert grid.shape == (9, 2)
    image = grid.reshape(3, 3, 2)
    assert image[0, 0].tolist() == [-1.0, -1.0]
    assert image[0, 2].tolist() == [1.0, -1.0]  # along a row x1 grows
    assert image[2, 0].tolist() == [-1.0, 1.0]  # down the rows x2 grows


def test_predict_grid_restores_the_mode_and_orients_the_map():
    net = nn.Linear(2, 4)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))
        net.bias.zero_()
    net.train()
    class_map = spiral.predict_grid(net, M=5, x_max=2.0)
    assert net.training
    assert class_map.shape == (5, 5) and class_map.dtype == torch.int64
    assert class_map[2, 4] == 0  # right: x1 = 2
    assert class_map[2, 0] == 1  # left: x1 = -2
    assert class_map[4, 2] == 2  # top: x2 = 2
    assert class_map[0, 2] == 3  # bottom: x2 = -2


def test_plots_return_axes_with_all_classes():
    import matplotlib.pyplot as plt

    X, y = spiral.spiral_dataset(N=50)
    ax = spiral.plot_spiral(X, y, title="t")
    assert len(ax.collections) == 4 and ax.get_title() == "t"
    class_map = torch.arange(4).repeat_interleave(4).reshape(4, 4)
    ax = spiral.plot_decision_map(class_map, X, y, x_max=3.0)
    assert ax.get_xlim() == (-3.0, 3.0) and len(ax.images) == 1
    plt.close("all")


def simple_split(X, y, seed):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=generator)
    n_test = len(X) // 5
    return X[order[:n_test]], y[order[:n_test]], X[order[n_test:]], y[order[n_test:]]


def counting_train_fn(calls):
    """A train function with the exercise's signature that records how it was called."""

    def train_fn(net, criterion, optimizer, train_loader, test_loader, num_epochs=1, device="x"):
        assert device == "cpu"
        calls.append(num_epochs)
        for _ in range(num_epochs):
            net.train()
            for xb, yb in train_loader:
                optimizer.zero_grad()
                criterion(net(xb), yb.long()).backward()
                optimizer.step()
        net.eval()
        return float(len(calls)), 50.0

    return train_fn


def test_draw_spiral_training_calls_train_fn_once_per_epoch():
    import matplotlib.pyplot as plt

    calls = []
    seen = []

    def progress(iterable, **kwargs):
        seen.append(kwargs.get("desc"))
        return iterable

    fig = spiral.draw_spiral_training(
        simple_split, counting_train_fn(calls), width=8, depth=1, epochs=3, progress=progress
    )
    assert calls == [1, 1, 1] and seen == ["学習中"]
    ax_map, ax_acc = fig.axes
    assert "幅 8, 隠れ層 1 層, 3 エポック" in ax_map.get_title()
    train_line, test_line = ax_acc.get_lines()
    assert list(train_line.get_ydata()) == [1.0, 2.0, 3.0]
    assert list(test_line.get_ydata()) == [50.0] * 3
    assert "訓練 3.0 %" in ax_acc.get_legend().get_texts()[0].get_text()
    plt.close("all")


def test_draw_spiral_training_is_friendly_about_stubs(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert spiral.draw_spiral_training(stub, counting_train_fn([]), epochs=1) is None
    assert spiral.draw_spiral_training(simple_split, stub, epochs=1) is None
    assert capsys.readouterr().out.count("まだ実装されていません") == 2


@pytest.mark.parametrize("run_initially", [True, False])
def test_spiral_widget_draws_with_default_values_on_demand(run_initially):
    import matplotlib.pyplot as plt

    calls = []
    box = spiral.spiral_widget(simple_split, counting_train_fn(calls), run_initially=run_initially)
    *rows, button, _output = box.children
    assert [control.value for control in rows[0].children] == [128, 2, 20]
    assert calls == ([1] * 20 if run_initially else [])
    calls.clear()
    rows[0].children[2].value = 5
    button.click()
    assert calls == [1] * 5
    plt.close("all")


def test_draw_spiral_training_with_the_books_pieces():
    """The book passes split data, a one-epoch training function and an accuracy function."""
    import matplotlib.pyplot as plt

    X, y = spiral.spiral_dataset(N=20)
    data = simple_split(X, y, 0)
    trained, scored = [], []

    def epoch_fn(net, criterion, optimizer, loader):
        trained.append(len(loader.dataset))

    def score_fn(net, X_part, y_part):
        scored.append(len(X_part))
        return 10.0 * len(scored)

    fig = spiral.draw_spiral_training(
        width=4, depth=1, epochs=2, data=data, epoch_fn=epoch_fn, score_fn=score_fn
    )
    assert trained == [64, 64] and scored == [64, 16, 64, 16]
    train_line, test_line = fig.axes[1].get_lines()
    assert list(train_line.get_ydata()) == [10.0, 30.0]
    assert list(test_line.get_ydata()) == [20.0, 40.0]
    plt.close("all")


def test_spiral_widget_wants_one_complete_set_of_functions():
    with pytest.raises(TypeError):
        spiral.spiral_widget(simple_split)
    with pytest.raises(TypeError):
        spiral.spiral_widget(simple_split, counting_train_fn([]), data=(1, 2, 3, 4))
