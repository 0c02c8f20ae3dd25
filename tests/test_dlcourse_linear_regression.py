"""Unit tests of chapter 02's helpers (dlcourse.linear_regression)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import dlcourse
from dlcourse.iris import load_iris_arrays
from dlcourse.linear_regression import (
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATE,
    LEARNING_RATES,
    as_array,
    learning_rate_widget,
    plot_learning_rate_run,
    plot_observed_vs_predicted,
    sgd_runs,
)


@pytest.fixture(autouse=True, scope="module")
def japanese_font():
    saved = matplotlib.rcParams["font.family"]
    dlcourse.use_japanese_font()
    yield
    matplotlib.rcParams["font.family"] = saved


@pytest.fixture(scope="module")
def iris_split():
    data, _ = load_iris_arrays()
    X, Y = data[:, :3], data[:, 3:]
    return X[1::2], X[::2], Y[1::2], Y[::2]  # the order of split_odd_even


@pytest.fixture(scope="module")
def runs(iris_split):
    return sgd_runs(*iris_split)


def test_as_array_copies_tensors_and_arrays():
    t = torch.ones(2, requires_grad=True)
    a = as_array(t)
    a[0] = 5.0
    assert a.dtype == np.float64 and t[0].item() == 1.0


def test_sgd_runs_shapes_and_shared_start(runs):
    L, E = len(LEARNING_RATES), 200
    assert runs.train_loss.shape == (L, E) and runs.test_loss.shape == (L, E)
    assert runs.W.shape == (L, E + 1, 1, 3) and runs.b.shape == (L, E + 1, 1)
    assert np.all(runs.W[:, 0] == runs.W[0, 0]), "every run starts from the same weights"
    assert runs.predict_test(0.005, 10).shape == (75, 1)


def test_sgd_runs_learn_and_the_largest_rate_diverges(runs):
    k = runs.index(0.005)
    assert runs.train_loss[k, -1] < 0.1 < runs.train_loss[k, 0]
    assert runs.test_loss[k, -1] < 0.1
    assert not np.isfinite(runs.train_loss[runs.index(0.02), -1])


def test_epoch_loss_is_the_sample_weighted_mean():
    """With lr = 0 nothing moves: the epoch loss is the MSE on the whole set (75 = 7 x 10 + 5)."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(75, 3)), rng.normal(size=(75, 1))
    runs = sgd_runs(X, X[:5], Y, Y[:5], learning_rates=(0.0,), num_epochs=2)
    full_mse = np.mean((X @ runs.W[0, 0].T + runs.b[0, 0] - Y) ** 2)
    assert np.allclose(runs.train_loss[0], full_mse)


def test_plot_observed_vs_predicted_accepts_tensors():
    fig, ax = plt.subplots()
    plot_observed_vs_predicted(ax, torch.tensor([[1.0], [2.0]]), torch.tensor([[1.5], [2.5]]))
    assert len(ax.collections) == 1 and ax.get_xlabel() == "実測値"
    plt.close(fig)


def test_widget_callback_with_default_values_calls_r2_fn(runs):
    calls = []

    def r2_fn(y_pred, y_true):
        calls.append((y_pred.dtype, y_true.dtype, tuple(y_pred.shape)))
        return 0.5

    fig = plot_learning_rate_run(runs, DEFAULT_LEARNING_RATE, DEFAULT_EPOCHS, r2_fn)
    assert calls == [(torch.float32, torch.float32, (75, 1))]
    ax_loss, ax_yy = fig.axes
    assert len(ax_loss.lines[0].get_xdata()) == DEFAULT_EPOCHS
    assert "0.500" in ax_yy.get_title() and "MSE" in ax_yy.get_title()
    plt.close("all")


def test_widget_callback_handles_divergence_and_unimplemented_r2(runs, capsys):
    fig = plot_learning_rate_run(runs, 0.02, DEFAULT_EPOCHS, None)
    assert "発散" in fig.axes[1].texts[0].get_text()

    def stub(y_pred, y_true):
        raise NotImplementedError

    fig = plot_learning_rate_run(runs, 0.01, 50, stub)
    assert "まだ実装されていません" in capsys.readouterr().out
    assert "R^2" not in fig.axes[1].get_title()
    plt.close("all")


def test_learning_rate_widget_builds(iris_split):
    box = learning_rate_widget(*iris_split, r2_fn=lambda p, t: 0.0)
    assert len(box.children) == 2
    slider = box.children[0].children[1]
    slider.value = 30  # redraws from the stored runs
    plt.close("all")


def test_sgd_runs_rejects_data_in_the_wrong_order(iris_split):
    X_train, X_test, Y_train, Y_test = iris_split
    with pytest.raises(ValueError, match="X_train, X_test, Y_train, Y_test"):
        sgd_runs(X_train, Y_train, X_test, Y_test)


def test_sgd_runs_accepts_tensors_and_its_own_learning_rates(iris_split):
    """The book page runs it on standardised float32 tensors with two learning rates."""
    X_train, X_test, Y_train, Y_test = (torch.from_numpy(a) for a in iris_split)
    mean, std = X_train.mean(dim=0), X_train.std(dim=0)
    runs = sgd_runs(
        (X_train - mean) / std,
        (X_test - mean) / std,
        Y_train,
        Y_test,
        learning_rates=(0.03, 0.1),
        num_epochs=5,
    )
    assert runs.learning_rates == (0.03, 0.1)
    assert runs.train_loss.shape == (2, 5) and np.all(np.isfinite(runs.train_loss))
    assert runs.train_loss[1, -1] < runs.train_loss[1, 0]
