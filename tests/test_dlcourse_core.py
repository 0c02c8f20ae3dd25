"""Unit tests of dlcourse's shared helpers (seeding, device, font, checks, widgets)."""

import matplotlib
import numpy as np
import pytest
import torch

import dlcourse
from dlcourse import testing as t
from dlcourse.widgets import (
    button_figure,
    call_student_function,
    float_slider,
    interactive_figure,
    no_progress,
)


def test_import_has_no_side_effects():
    import subprocess
    import sys

    code = (
        "import matplotlib, torch; before = (dict(matplotlib.rcParams), torch.initial_seed());"
        "import dlcourse, dlcourse.tensors, dlcourse.widgets, dlcourse.testing, dlcourse.iris;"
        "assert dict(matplotlib.rcParams) == before[0], 'rcParams changed';"
        "assert torch.initial_seed() == before[1], 'seed changed'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_set_seed_makes_torch_and_numpy_repeatable():
    dlcourse.set_seed(7)
    first = torch.rand(3), np.random.rand(3)
    dlcourse.set_seed(7)
    second = torch.rand(3), np.random.rand(3)
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_get_device_is_cpu_here_or_cuda():
    assert dlcourse.get_device().type in {"cpu", "cuda"}
    assert dlcourse.get_device(prefer_gpu=False).type == "cpu"


def test_japanese_font_renders_without_missing_glyphs(recwarn):
    import matplotlib.pyplot as plt

    saved = matplotlib.rcParams["font.family"]
    try:
        dlcourse.use_japanese_font()
        fig, ax = plt.subplots()
        ax.set_title("損失の推移 −1.5")
        fig.canvas.draw()
        plt.close(fig)
    finally:
        matplotlib.rcParams["font.family"] = saved
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_assert_close_reports_shape_and_max_difference():
    t.assert_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0000001]))
    with pytest.raises(AssertionError, match=r"形 \(shape\).*\(2,\).*\(2, 1\)"):
        t.assert_close(torch.ones(2, 1), torch.ones(2))
    with pytest.raises(AssertionError, match="最大絶対誤差 0.5"):
        t.assert_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="Tensor であるべき"):
        t.assert_close([1.0], torch.tensor([1.0]))
    with pytest.raises(AssertionError, match="inf または nan"):
        t.assert_close(torch.tensor([float("nan")]), torch.tensor([1.0]))


def test_assert_dtype_shape_equal_and_unchanged():
    t.assert_dtype(torch.ones(1), torch.float32)
    t.assert_dtype(np.ones(1, dtype=np.float32), np.float32)
    with pytest.raises(AssertionError, match="dtype"):
        t.assert_dtype(torch.ones(1, dtype=torch.float64), torch.float32)
    with pytest.raises(AssertionError, match="形"):
        t.assert_shape(torch.ones(2, 3), (3, 2))
    t.assert_equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="1 個の要素が不一致"):
        t.assert_equal(torch.tensor([1, 3]), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="期待 3"):
        t.assert_equal(4, 3)
    x = torch.ones(2)
    before = x.clone()
    x.requires_grad_(True)
    with pytest.raises(AssertionError, match="requires_grad"):
        t.assert_unchanged(before, x)


def test_assert_raises_value_error_distinguishes_error_types():
    def raises(error):
        def func():
            raise error

        return func

    t.assert_raises_value_error(raises(ValueError("x")), what="悪い入力")
    with pytest.raises(AssertionError, match="RuntimeError"):
        t.assert_raises_value_error(raises(RuntimeError("boom")), what="悪い入力")
    with pytest.raises(AssertionError, match="何も送出されませんでした"):
        t.assert_raises_value_error(lambda: None, what="悪い入力")
    with pytest.raises(NotImplementedError):
        t.assert_raises_value_error(raises(NotImplementedError()), what="悪い入力")


def test_call_student_function_is_friendly_about_stubs(capsys):
    def stub():
        raise NotImplementedError("未実装です")

    assert call_student_function(stub) is None
    assert "stub がまだ実装されていません" in capsys.readouterr().out
    assert call_student_function(lambda x: x + 1, 1) == 2


def test_interactive_and_button_widgets_redraw():
    import matplotlib.pyplot as plt

    calls = []

    def draw(a, progress=no_progress):
        calls.append(a)
        fig, ax = plt.subplots()
        list(progress(range(2)))
        return fig

    slider = float_slider(1.0, 0.0, 2.0, 0.5, "a")
    box = interactive_figure(draw, {"a": slider})
    slider.value = 1.5
    assert calls == [1.0, 1.5] and len(box.children) == 2
    calls.clear()
    box = button_figure(draw, {"a": float_slider(0.5, 0.0, 2.0, 0.5, "a")})
    box.children[1].click()
    assert calls == [0.5, 0.5]
    plt.close("all")


def test_affine_widget_callback_draws_the_mapped_grid():
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    from dlcourse.tensors import affine_widget, grid_lines, plot_affine_grid

    assert grid_lines(n_lines=3, n_points=5).shape == (6, 5, 2)
    fig = plot_affine_grid(F.linear, torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.zeros(2))
    blue = fig.axes[0].lines[18]  # 18 grey lines first, then the mapped ones
    assert np.allclose(blue.get_xdata()[[0, -1]], [-2.0, 2.0])
    assert "det W = 2.00" in fig.axes[0].get_title()

    def stub(X, W, b):
        raise NotImplementedError

    assert plot_affine_grid(stub, torch.eye(2), torch.zeros(2)) is None
    assert len(affine_widget(F.linear).children) == 4
    plt.close("all")


def test_iris_arrays():
    from dlcourse.iris import load_iris_arrays

    X, y = load_iris_arrays()
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert y.dtype == np.int64 and set(y.tolist()) == {0, 1, 2}
