"""Unit tests of chapter 06's helpers (targets, plots, the approximation widget)."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from dlcourse.universal_approximation import (
    TARGETS,
    approximation_widget,
    draw_approximation,
    draw_three_relus,
    plot_approximation,
    plot_error_curves,
    sample_target,
    square,
    step,
    three_relus_widget,
)

matplotlib.use("Agg")


def interpolate(x_train, y_train):
    """A stand-in for the exercise: np.interp, with the ReLU basis as clamped differences."""
    knots = x_train.reshape(-1)
    values = y_train.reshape(-1)
    x = torch.linspace(float(knots[0]), float(knots[-1]), 1000)
    y_hat = torch.from_numpy(np.interp(x.numpy(), knots.numpy(), values.numpy())).float()
    return y_hat, (x[None, :] - knots[:-1, None]).clamp(min=0), x


@pytest.fixture(autouse=True)
def japanese_figures():
    """Draw with the course's Japanese font; close the figures and restore the font afterwards."""
    import matplotlib.pyplot as plt

    import dlcourse

    saved = matplotlib.rcParams["font.family"]
    dlcourse.use_japanese_font()
    yield
    plt.close("all")
    matplotlib.rcParams["font.family"] = saved


def test_step_and_square_keep_the_dtype():
    x = torch.tensor([-1.0, 0.0, 0.5])
    assert torch.equal(step(x), torch.tensor([0.0, 1.0, 1.0]))
    assert step(x).dtype == torch.float32
    assert step(x.double()).dtype == torch.float64
    assert torch.equal(square(x), torch.tensor([1.0, 0.0, 0.25]))


def test_targets_and_samples():
    assert set(TARGETS) == {"sin", "abs", "step", "square"}
    assert TARGETS["sin"].a == 0.0 and TARGETS["sin"].b == pytest.approx(2 * math.pi)
    x_train, y_train = sample_target("square", 5)
    assert x_train.shape == y_train.shape == (5,)
    assert torch.allclose(x_train, torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    assert torch.allclose(y_train, torch.tensor([1.0, 0.25, 0.0, 0.25, 1.0]))
    for spec in TARGETS.values():
        values = spec.func(torch.linspace(spec.a, spec.b, 7))
        assert values.shape == (7,) and values.dtype == torch.float32


def test_draw_approximation_shows_basis_fit_and_max_error():
    fig = draw_approximation(interpolate, 9, "sin")
    ax_basis, ax_fit = fig.axes
    assert len(ax_basis.lines) == 9, "one line per ReLU"
    # Target, approximation, samples.
    assert len(ax_fit.lines) == 3
    assert len(ax_fit.lines[2].get_xdata()) == 10
    # sin with 10 samples on [0, 2π]: max error 0.0594 (the graded example).
    assert "ReLU 9 個" in ax_fit.get_title() and "最大誤差 0.0594" in ax_fit.get_title()


def test_draw_approximation_error_for_each_target():
    titles = {
        name: draw_approximation(interpolate, 4, name).axes[1].get_title() for name in TARGETS
    }
    # |x| with 5 samples on [-1, 1] has a sample at the kink: exact.
    assert "最大誤差 0.0000" in titles["abs"]
    # x^2 with spacing 0.5: error h^2 / 4 = 0.0625 (up to the grid).
    assert "最大誤差 0.062" in titles["square"]
    step_title = draw_approximation(interpolate, 40, "step").axes[1].get_title()
    assert float(step_title.rsplit(" ", 1)[1]) > 0.45, step_title


def test_draw_approximation_is_friendly_about_stubs(capsys):
    def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
        raise NotImplementedError("演習 6.2")

    assert draw_approximation(approximate_function, 9, "sin") is None
    assert "approximate_function がまだ実装されていません" in capsys.readouterr().out


def test_widget_redraws_on_both_controls():
    calls = []

    def spy(x_train, y_train):
        calls.append(len(x_train))
        return interpolate(x_train, y_train)

    box = approximation_widget(spy)
    slider, menu = box.children[0].children
    assert (slider.value, menu.value) == (9, "sin")
    slider.value = 3
    menu.value = "step"
    assert calls == [10, 4, 4]


def test_plot_helpers():
    y_hat, relu_acts, x = interpolate(*sample_target("abs", 6))
    fig = plot_approximation(x, relu_acts, y_hat, TARGETS["abs"], title="題")
    assert fig.axes[1].get_title() == "題"
    fig = plot_error_curves([4, 8, 16], {"sin": [0.1, 0.025, 0.006]})
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.lines) == 3  # the data and two guide lines


def test_three_relus_default_is_the_tent():
    fig = draw_three_relus()
    ax = fig.axes[0]
    assert len(ax.lines) == 4 + 3, "three weighted ReLUs, their sum, three kink guides"
    total = ax.lines[3]
    x = np.asarray(total.get_xdata())
    y = np.asarray(total.get_ydata())
    assert np.allclose(y, np.maximum(0.0, 1.0 - np.abs(x)), atol=1e-6)
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["傾き 0", "傾き 1", "傾き -1", "傾き 0"]


def test_three_relus_slopes_and_bias():
    ax = draw_three_relus(1.0, -2.0, 0.0, 0.5).axes[0]
    x = np.asarray(ax.lines[3].get_xdata())
    y = np.asarray(ax.lines[3].get_ydata())
    assert np.isclose(y[0], 0.5), "left of every kink the output is the bias c"
    assert np.isclose((y[-1] - y[-2]) / (x[-1] - x[-2]), -1.0, atol=1e-4), "right: v1 + v2"
    assert [text.get_text() for text in ax.texts][-1] == "傾き -1"


def test_three_relus_widget_redraws():
    box = three_relus_widget()
    sliders = box.children[0].children
    assert [s.value for s in sliders] == [1.0, -2.0, 1.0, 0.0]
    sliders[2].value = 0.0  # redraws without error


# The generic test helpers chapter 06 added to dlcourse.testing.


def test_assert_no_known_mistake_names_a_matching_wrong_answer():
    from dlcourse.testing import assert_no_known_mistake

    table = {"符号が逆です。": [[0.0, 1.0]], "ReLU をとり忘れています。": [[-1.0, 1.0]]}
    with pytest.raises(AssertionError, match="戻り値 の値が違います: 符号が逆です。"):
        assert_no_known_mistake(torch.tensor([[0.0, 1.0]]), table)
    assert_no_known_mistake(torch.tensor([[0.5, 1.0]]), table)  # no match: silent
    assert_no_known_mistake(torch.tensor([0.0, 1.0]), table)  # other shape: silent
    with pytest.raises(AssertionError, match="平均"):
        assert_no_known_mistake(0.0254509, {"平均をとっています。": 0.0254509})


def test_assert_number_says_expected_and_got_without_relations():
    from dlcourse.testing import assert_number

    assert_number(0.0593977, 0.0593977)
    with pytest.raises(AssertionError) as error:
        assert_number(0.0057, 0.0123, "誤差")
    message = str(error.value)
    assert "期待 0.0123" in message and "実際 0.0057" in message
    assert "一定値" not in message and "倍" not in message


def test_upstream_first_blames_the_earlier_function_only_when_it_is_wrong():
    import __main__
    from dlcourse.testing import returns, upstream_first

    __main__.double = lambda t: 2 * t
    right = ("double", returns("double", (torch.tensor([1.0]),), torch.tensor([2.0])))
    wrong = ("double", returns("double", (torch.tensor([1.0]),), torch.tensor([3.0])))
    try:
        with pytest.raises(AssertionError, match="自分の間違い"):
            with upstream_first(right):
                raise AssertionError("自分の間違い")
        with pytest.raises(AssertionError, match="double を先に直してください"):
            with upstream_first(wrong):
                raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
        with pytest.raises(NotImplementedError):
            with upstream_first(wrong):
                raise NotImplementedError("演習 6.1")
    finally:
        del __main__.double
