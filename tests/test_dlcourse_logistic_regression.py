"""Unit tests of chapter 03's helpers (dlcourse.logistic_regression)."""

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

import dlcourse
from dlcourse.iris import load_iris_arrays
from dlcourse.logistic_regression import (
    WIDGET_EPOCHS,
    blobs_train_test,
    decision_region_widget,
    plot_region_epoch,
    plot_two_classes,
    region_state,
    train_snapshots,
)


@pytest.fixture(autouse=True, scope="module")
def japanese_font():
    saved = matplotlib.rcParams["font.family"]
    dlcourse.use_japanese_font()
    yield
    matplotlib.rcParams["font.family"] = saved


@pytest.fixture(scope="module")
def iris_split():
    data, species = load_iris_arrays()
    X, y = torch.from_numpy(data), torch.from_numpy(species)
    return X[1::2], y[1::2], X[::2], y[::2]


@pytest.fixture(scope="module")
def state(iris_split):
    return region_state(*iris_split)


def test_blobs_are_two_balanced_classes_with_a_fresh_test_draw():
    X_train, y_train, X_test, y_test = blobs_train_test(n_samples=1000)
    assert X_train.shape == (1000, 2) and X_train.dtype == torch.float32
    assert y_train.dtype == torch.int64 and set(y_train.tolist()) == {0, 1}
    assert abs(y_train.float().mean().item() - 0.5) < 0.05
    assert not torch.equal(X_train, X_test)
    # label 0 around (1, 1), label 1 around (-1, -1)
    assert X_train[y_train == 0].mean(dim=0).gt(0.8).all()
    assert X_test[y_test == 1].mean(dim=0).lt(-0.8).all()


def test_plot_two_classes():
    X, y, _, _ = blobs_train_test(n_samples=200)
    fig, ax = plt.subplots()
    plot_two_classes(ax, X, y, max_points=100)
    assert len(ax.collections) == 2
    plt.close(fig)


def test_train_snapshots_shapes_learning_and_no_global_rng_use(iris_split):
    X, y = iris_split[0][:, 2:], iris_split[1]
    rng_before = torch.get_rng_state()
    snaps = train_snapshots(X, y, "softmax", num_epochs=30)
    assert torch.equal(torch.get_rng_state(), rng_before), "the global RNG was used"
    assert snaps.W.shape == (31, 3, 2) and snaps.b.shape == (31, 3) and snaps.loss.shape == (31,)
    assert snaps.loss[-1] < snaps.loss[0]
    assert snaps.scores(X, 30).shape == (75, 3)
    other = train_snapshots(X, y, "sigmoid", num_epochs=30)
    assert torch.equal(other.W[0], snaps.W[0]), "both kinds start from the same parameters"
    with pytest.raises(ValueError):
        train_snapshots(X, y, "tanh")


def test_softmax_model_separates_the_petal_features(state):
    snaps = state.snapshots["softmax"]
    predicted = snaps.scores(state.X_test, WIDGET_EPOCHS).argmax(dim=1)
    assert (predicted == state.y_test).float().mean() > 0.9


def test_widget_callback_with_default_values_calls_accuracy_fn(state):
    calls = []

    def accuracy_fn(scores, labels):
        calls.append((tuple(scores.shape), labels.dtype))
        return 0.5

    fig = plot_region_epoch(state, accuracy_fn=accuracy_fn)
    assert calls == [((75, 3), torch.int64), ((75, 3), torch.int64)]
    assert "50.0%" in fig.axes[0].get_title()
    assert len(fig.axes[1].lines) == 3  # both curves and the epoch marker
    plt.close("all")


def test_widget_callback_with_unimplemented_accuracy(state, capsys):
    def stub(scores, labels):
        raise NotImplementedError

    fig = plot_region_epoch(state, "sigmoid", 0, stub)
    assert "まだ実装されていません" in capsys.readouterr().out
    assert "正解率" not in fig.axes[0].get_title()
    plt.close("all")


def test_decision_region_widget_builds(iris_split):
    box = decision_region_widget(*iris_split)
    assert len(box.children) == 2
    box.children[0].children[1].value = 5  # the epoch slider redraws from the snapshots
    plt.close("all")
