"""Unit tests of dlcourse.backprop (chapter 05): data split, plots and the widgets' callbacks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import dlcourse  # noqa: E402
from dlcourse import backprop  # noqa: E402
from dlcourse.widgets import NOT_IMPLEMENTED_MESSAGE  # noqa: E402


@pytest.fixture(autouse=True)
def japanese_figures():
    """The font the notebooks use (restored afterwards); figures closed after each test."""
    with matplotlib.rc_context():
        dlcourse.use_japanese_font()
        yield
        plt.close("all")


def test_digits_split_sizes_dtypes_and_labels():
    X_train, X_test, y_train, y_test = backprop.load_digits_split()
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert X_train.dtype == X_test.dtype == torch.float32
    assert y_train.dtype == y_test.dtype == torch.int64
    assert set(y_train.tolist()) == set(range(10)) == set(y_test.tolist())


def test_digits_split_is_seed_003s_split_scaled_by_the_training_set():
    X_train, X_test, y_train, y_test = backprop.load_digits_split()
    digits = load_digits()
    raw = train_test_split(digits.data, digits.target, test_size=0.2, random_state=42)
    mean, std = raw[0].mean(), raw[0].std()  # two scalars over all pixels, not one per pixel
    assert np.allclose(X_train.numpy(), (raw[0] - mean) / std, atol=1e-6)
    assert np.allclose(X_test.numpy(), (raw[1] - mean) / std, atol=1e-6)
    assert np.array_equal(y_train.numpy(), raw[2]) and np.array_equal(y_test.numpy(), raw[3])
    assert abs(X_train.mean().item()) < 1e-5  # scaled with the training set's statistics
    assert abs(X_train.std(unbiased=False).item() - 1) < 1e-5


def test_digits_split_is_repeatable():
    first, second = backprop.load_digits_split(), backprop.load_digits_split()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_warmup_problem_shapes_dtype_and_seed():
    x, y, w1, w2 = backprop.warmup_problem()
    assert (x.shape, y.shape, w1.shape, w2.shape) == ((64, 1000), (64, 10), (1000, 100), (100, 10))
    assert all(a.dtype == np.float64 for a in (x, y, w1, w2))
    again = backprop.warmup_problem()
    assert all(np.array_equal(a, b) for a, b in zip((x, y, w1, w2), again, strict=True))
    other = backprop.warmup_problem(hidden_size=7, seed=3)
    assert other[2].shape == (1000, 7) and not np.array_equal(other[0], x)


def test_use_one_thread_limits_torch():
    previous = torch.get_num_threads()
    try:
        backprop.use_one_thread()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_plots_return_figures_with_japanese_labels():
    X_train, _, y_train, _ = backprop.load_digits_split()
    fig = backprop.plot_digit_samples(X_train, y_train, n=4)
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == str(int(y_train[0]))
    ax = backprop.plot_loss_log([1e3, 1e1, 1e-1], title="損失")
    assert ax.get_yscale() == "log"
    history = {"train_loss": [1.0, 0.5], "test_loss": [1.1, 0.6], "test_accuracy": [0.5, 0.95]}
    fig = backprop.plot_training_curves(history)
    assert len(fig.axes) == 2
    assert "0.950" in fig.axes[1].get_title() and "テスト" in fig.axes[1].get_title()
    x, y = backprop.xor_problem(50, seed=2)
    ax = backprop.plot_xor(x, y, predict=lambda points: np.full((len(points), 1), 0.5))
    assert len(ax.collections) >= 2


def test_xor_problem_shapes_labels_and_seed():
    x, y = backprop.xor_problem(400, seed=0)
    assert x.shape == (400, 2) and y.shape == (400, 1)
    assert x.dtype == y.dtype == np.float64
    assert set(np.unique(y)) == {0.0, 1.0}
    # class 1 sits in the quadrants where x1 * x2 > 0 (for most points: the clouds overlap a little)
    agree = np.mean((x[:, 0] * x[:, 1] > 0) == (y[:, 0] == 1))
    assert agree > 0.9
    again, other = backprop.xor_problem(400, seed=0), backprop.xor_problem(400, seed=1)
    assert np.array_equal(again[0], x) and not np.array_equal(other[0], x)


def fake_training(learning_rate, hidden_size, num_epochs, progress):
    """Stands in for the book's training function: curves that depend on the settings."""
    epochs = list(progress(range(num_epochs)))
    return {
        "train_loss": [1.0 / (1 + learning_rate * e) for e in epochs],
        "test_loss": [1.1 / (1 + learning_rate * e) for e in epochs],
        "train_accuracy": [min(1.0, hidden_size / 100 + 0.05 * e) for e in epochs],
        "test_accuracy": [min(1.0, hidden_size / 110 + 0.05 * e) for e in epochs],
    }


def test_draw_training_curves_with_default_values():
    calls = []

    def recording(**kwargs):
        calls.append(kwargs)
        return fake_training(**kwargs)

    fig = backprop.draw_training_curves(recording)
    assert len(fig.axes) == 2
    assert calls[0]["learning_rate"] == 1.0 and calls[0]["hidden_size"] == 8
    assert calls[0]["num_epochs"] == 1000
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines[0].get_xdata()) == 1000


def test_draw_training_curves_while_unimplemented(capsys):
    def unimplemented(**_kwargs):
        raise NotImplementedError

    assert backprop.draw_training_curves(unimplemented) is None
    assert NOT_IMPLEMENTED_MESSAGE.split("{")[0] in capsys.readouterr().out


def test_training_widget_builds_and_draws_once():
    calls = []

    def recording(**kwargs):
        calls.append(kwargs)
        return fake_training(**kwargs)

    widget = backprop.training_curves_widget(recording)
    assert len(calls) == 1  # the figure of the default values is drawn at once
    labels = [child.description for box in widget.children[:-2] for child in box.children]
    assert labels == ["学習率", "隠れ層のユニット数"]


def shrinking_step(x, y, w1, w2, learning_rate):
    """A stand-in for numpy_two_layer_step that only shrinks the weights (no gradients)."""
    loss = float(np.square(w1).sum() + np.square(w2).sum())
    factor = 1 - 1e5 * learning_rate
    return loss, w1 * factor, w2 * factor


def test_run_warmup_and_its_figure_with_default_values():
    losses = backprop.run_warmup(shrinking_step, num_steps=20)
    assert len(losses) == 20 and losses[-1] < losses[0]
    fig = backprop.draw_warmup(shrinking_step, num_steps=20)
    assert fig.axes[0].get_yscale() == "log"
    assert "最終損失" in fig.axes[0].get_title()


def test_run_warmup_stops_when_the_loss_diverges(recwarn):
    def exploding(x, y, w1, w2, learning_rate):
        loss = float(np.square(w1).sum())
        return loss, w1 * 1e60, w2

    losses = backprop.run_warmup(exploding, num_steps=50)
    assert len(losses) < 50 and not np.isfinite(losses[-1])
    fig = backprop.draw_warmup(exploding, num_steps=50)
    assert "発散" in fig.axes[0].get_title()
    fig.canvas.draw()
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_warmup_widget_while_unimplemented(capsys):
    def unimplemented(*_args):
        raise NotImplementedError("演習 5.6: numpy_two_layer_step を実装してください")

    assert backprop.draw_warmup(unimplemented) is None
    assert "unimplemented" in capsys.readouterr().out
    widget = backprop.warmup_widget(unimplemented, num_steps=5)
    assert widget.children[-2].description == "学習する"
