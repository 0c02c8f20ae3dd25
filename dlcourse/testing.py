"""Checks used by the visible and hidden tests of the graded notebooks.

Every failure raises ``AssertionError`` with a Japanese message that says what
was expected and what came back (shape, dtype, largest absolute difference), so
that a student sees *how far off* an answer is, not just that it failed.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"Tensor(shape={tuple(value.shape)}, dtype={value.dtype})"
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    return f"{type(value).__name__} {value!r}"[:200]


def _as_float64(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    if isinstance(value, np.ndarray | float | int | np.floating | np.integer):
        return torch.as_tensor(np.asarray(value, dtype=np.float64))
    raise AssertionError(f"{name} は Tensor であるべきですが、{_describe(value)} が返りました。")


def assert_tensor(value: Any, name: str = "戻り値") -> None:
    """Assert that ``value`` is a ``torch.Tensor``."""
    if not isinstance(value, torch.Tensor):
        raise AssertionError(
            f"{name} は torch.Tensor であるべきですが、{_describe(value)} が返りました。"
        )


def assert_shape(value: Any, shape: tuple[int, ...], name: str = "戻り値") -> None:
    """Assert the shape of a tensor or array."""
    actual = tuple(getattr(value, "shape", ()))
    if actual != tuple(shape):
        raise AssertionError(f"{name} の形 (shape) が違います: 期待 {tuple(shape)}、実際 {actual}")


def assert_dtype(value: Any, dtype: Any, name: str = "戻り値") -> None:
    """Assert the dtype of a tensor (``torch.dtype``) or array (NumPy dtype)."""
    actual = getattr(value, "dtype", type(value).__name__)
    if isinstance(dtype, torch.dtype) and not isinstance(value, torch.Tensor):
        raise AssertionError(
            f"{name} は dtype {dtype} の Tensor であるべきですが、{_describe(value)} です。"
        )
    if isinstance(value, np.ndarray):
        ok = actual == np.dtype(dtype)
    else:
        ok = actual == dtype
    if not ok:
        raise AssertionError(f"{name} の dtype が違います: 期待 {dtype}、実際 {actual}")


def max_abs_diff(actual: Any, expected: Any) -> float:
    """Largest absolute difference between two equally shaped arrays or tensors."""
    a = _as_float64(actual, "actual")
    e = _as_float64(expected, "expected")
    if a.numel() == 0:
        return 0.0
    return float((a - e).abs().max())


def assert_close(
    actual: Any,
    expected: Any,
    name: str = "戻り値",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    The default tolerances suit float32 results whose sums may run in another
    order than the reference's. Shapes must match exactly (no broadcasting).
    """
    a = _as_float64(actual, name)
    e = _as_float64(expected, "期待値")
    assert_shape(a, tuple(e.shape), name)
    if not torch.isfinite(a).all() and torch.isfinite(e).all():
        raise AssertionError(
            f"{name} に inf または nan が含まれています: {a.flatten()[:6].tolist()} ..."
        )
    if not torch.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        diff = max_abs_diff(a, e)
        index = int((a - e).abs().nan_to_num(float("inf")).argmax())
        raise AssertionError(
            f"{name} の値が違います: 最大絶対誤差 {diff:.3g} (許容: atol={atol:g}, rtol={rtol:g})。"
            f" 位置 {index} (平坦化) で期待 {e.flatten()[index].item():.6g}、"
            f"実際 {a.flatten()[index].item():.6g}"
        )


def assert_equal(actual: Any, expected: Any, name: str = "戻り値") -> None:
    """Assert exact equality of integers, booleans or integer tensors."""
    if isinstance(expected, torch.Tensor):
        assert_tensor(actual, name)
        assert_shape(actual, tuple(expected.shape), name)
        if not torch.equal(actual.cpu().to(expected.dtype), expected.cpu()):
            mismatches = int((actual.cpu().to(expected.dtype) != expected.cpu()).sum())
            raise AssertionError(
                f"{name} が違います: {mismatches} 個の要素が不一致。"
                f" 期待 {expected.flatten()[:8].tolist()} ...、"
                f"実際 {actual.flatten()[:8].tolist()} ..."
            )
    elif actual != expected:
        raise AssertionError(f"{name} が違います: 期待 {expected!r}、実際 {actual!r}")


def assert_raises_value_error(
    func: Callable[..., Any], *args: Any, what: str, **kwargs: Any
) -> None:
    """Assert that ``func(*args, **kwargs)`` raises ``ValueError``.

    ``what`` says in Japanese which bad input is being passed, for the message.
    """
    try:
        func(*args, **kwargs)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - report any other error type
        raise AssertionError(
            f"{what} のとき ValueError を送出してください。"
            f" 実際には {type(error).__name__}: {error} が送出されました。"
        ) from None
    raise AssertionError(f"{what} のとき ValueError を送出してください。何も送出されませんでした。")


def assert_unchanged(before: torch.Tensor, after: torch.Tensor, name: str = "引数") -> None:
    """Assert that a function left its input tensor untouched (values and flags)."""
    if after.requires_grad != before.requires_grad:
        raise AssertionError(
            f"{name} の requires_grad が {before.requires_grad} から {after.requires_grad} に"
            " 変わりました。呼び出し側のテンソルを変更しないでください。"
        )
    if not torch.equal(before.detach(), after.detach()):
        raise AssertionError(
            f"{name} の値が書き換えられました (最大変化 {max_abs_diff(after, before):.3g})。"
            " 入力はコピーしてから変更してください。"
        )
