"""Unit tests of chapter 04's helpers (dlcourse.mlp): data sets, decision map, widget."""

import matplotlib
import pytest
import torch
import torch.nn as nn

from dlcourse import use_japanese_font
from dlcourse.mlp import (
    ACTIVATIONS,
    TOY_DATASETS,
    architecture_boundary_widget,
    blobs_dataset,
    draw_architecture_boundary,
    draw_mlp_boundary,
    grid_points,
    mlp_boundary_widget,
    plot_decision_regions,
    single_thread,
    timing_summary,
    toy_dataset,
)

matplotlib.use("Agg")


def sequential_mlp(activation, n_in, hidden, n_out):
    """A stand-in for the graded MLP, built the way the book builds it."""
    layers, width = [], n_in
    for size in hidden:
        layers += [nn.Linear(width, size), activation()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, n_out))


@pytest.fixture(autouse=True)
def japanese_font_and_no_leftover_figures():
    import matplotlib.pyplot as plt

    saved = matplotlib.rcParams["font.family"]
    use_japanese_font()
    yield
    plt.close("all")
    matplotlib.rcParams["font.family"] = saved


def test_blobs_match_the_seed_set_up():
    X, y = blobs_dataset()
    assert X.shape == (10000, 2) and X.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert set(y.tolist()) == {0, 1} and int(y.sum()) == 5000
    assert torch.allclose(X[y == 0].mean(0), torch.tensor([1.0, 1.0]), atol=0.03)
    assert torch.allclose(X[y == 1].mean(0), torch.tensor([-1.0, -1.0]), atol=0.03)
    assert torch.allclose(X[y == 0].std(0), torch.tensor([0.5, 0.5]), atol=0.02)
    again, _ = blobs_dataset()
    other, _ = blobs_dataset(random_state=1)
    assert torch.equal(X, again) and not torch.equal(X, other)


def test_blobs_are_almost_separable_by_the_diagonal():
    X, y = blobs_dataset(random_state=1)
    accuracy = ((X.sum(dim=1) < 0).long() == y).float().mean().item()
    assert 0.995 < accuracy < 1.0  # Bayes accuracy about 99.8 %


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_toy_datasets_are_small_balanced_and_repeatable(name):
    X, y = toy_dataset(name, n_samples=200, seed=3)
    assert X.shape == (200, 2) and X.dtype == torch.float32
    assert y.shape == (200,) and y.dtype == torch.int64
    assert set(y.tolist()) == {0, 1}
    assert 60 <= int(y.sum()) <= 140
    assert X.abs().max() < 3.0
    X2, y2 = toy_dataset(name, n_samples=200, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)


def test_toy_dataset_rejects_unknown_names():
    with pytest.raises(ValueError, match="spiral"):
        toy_dataset("spiral")


def test_grid_points_cover_the_data():
    X = torch.tensor([[0.0, -1.0], [2.0, 1.0]])
    xx, yy, points = grid_points(X, steps=5, margin=0.5)
    assert xx.shape == yy.shape == (5, 5) and points.shape == (25, 2)
    assert points[:, 0].min() == -0.5 and points[:, 0].max() == 2.5
    assert points[:, 1].min() == -1.5 and points[:, 1].max() == 1.5


def test_plot_decision_regions_keeps_the_mode_and_draws():
    X, y = toy_dataset("moons", n_samples=50)
    model = sequential_mlp(nn.ReLU, 2, [4], 2)
    model.train()
    ax = plot_decision_regions(model, X, y, title="テスト")
    assert model.training, "the helper must restore the model's mode"
    assert ax.get_title() == "テスト" and len(ax.collections) >= 3


def test_single_thread_restores_the_setting():
    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_widget_callback_with_defaults_learns_the_moons():
    fig = draw_mlp_boundary(sequential_mlp)
    title = fig.axes[0].get_title()
    accuracy = float(title.split("正解率")[1].strip(" %"))
    assert accuracy > 95.0, title


def test_without_activation_the_boundary_stays_linear():
    fig = draw_mlp_boundary(
        sequential_mlp, dataset="circles", activation="なし (恒等写像)", steps=150
    )
    accuracy = float(fig.axes[0].get_title().split("正解率")[1].strip(" %"))
    assert accuracy < 70.0  # circles cannot be split by a line


def test_widget_callback_accepts_every_option_and_zero_depth():
    calls = []

    def recording_builder(activation, n_in, hidden, n_out):
        calls.append((activation, n_in, list(hidden), n_out))
        return sequential_mlp(activation, n_in, hidden, n_out)

    for name in ACTIVATIONS:
        draw_mlp_boundary(
            recording_builder, dataset="xor", activation=name, width=3, depth=0, steps=2
        )
    assert [c[1:] for c in calls] == [(2, [], 2)] * len(ACTIVATIONS)
    fig = draw_mlp_boundary(recording_builder, activation="tanh", width=5, depth=3, steps=2)
    assert calls[-1][1:] == (2, [5, 5, 5], 2) and fig is not None


def test_widget_is_friendly_while_the_builder_is_a_stub(capsys):
    def stub(*_args):
        raise NotImplementedError("演習 4.3: MLP を実装してください")

    assert draw_mlp_boundary(stub) is None
    assert "まだ実装されていません" in capsys.readouterr().out
    box = mlp_boundary_widget(stub)
    assert len(box.children) == 4  # two rows of controls, the button, the output

    class HalfDone(nn.Module):
        def __init__(self, *_args):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(2, 2))

        def forward(self, x):
            raise NotImplementedError("演習 4.3: MLP を実装してください")

    assert draw_mlp_boundary(HalfDone) is None
    assert "forward がまだ実装されていません" in capsys.readouterr().out


ARCHITECTURES = {
    "隠れ層なし": lambda act: nn.Sequential(nn.Linear(2, 2)),
    "幅 16 x 2 層": lambda act: nn.Sequential(
        nn.Linear(2, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 2)
    ),
}


def test_architecture_widget_trains_the_chosen_network():
    fig = draw_architecture_boundary(ARCHITECTURES, architecture="幅 16 x 2 層")
    title = fig.axes[0].get_title()
    assert title.startswith("ReLU, 幅 16 x 2 層")
    assert float(title.split("正解率")[1].strip(" %")) > 95.0, title
    linear = draw_architecture_boundary(ARCHITECTURES, dataset="circles", steps=150)
    assert "隠れ層なし" in linear.axes[0].get_title()  # the first architecture is the default
    assert float(linear.axes[0].get_title().split("正解率")[1].strip(" %")) < 70.0


def test_architecture_widget_passes_the_activation_factory():
    seen = []

    def recording(act):
        seen.append(act)
        return nn.Sequential(nn.Linear(2, 3), act(), nn.Linear(3, 2))

    draw_architecture_boundary({"rec": recording}, activation="tanh", steps=2)
    assert seen == [ACTIVATIONS["tanh"]]
    box = architecture_boundary_widget(ARCHITECTURES, value="幅 16 x 2 層", steps=2)
    assert len(box.children) == 3  # one row of controls, the button, the output


def test_progress_wrapper_sees_every_step():
    seen = []

    def progress(iterable, **_kwargs):
        for item in iterable:
            seen.append(item)
            yield item

    draw_mlp_boundary(sequential_mlp, steps=7, progress=progress)
    assert seen == list(range(7))


def test_timing_summary_extrapolates_an_epoch():
    table = timing_summary({1: 0.001, 100: 0.002}, n_samples=1000)
    lines = table.splitlines()
    assert len(lines) == 3
    assert lines[1].split() == ["1", "1000", "1.000", "1.00"]
    assert lines[2].split() == ["100", "10", "2.000", "0.02"]
