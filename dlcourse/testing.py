"""Checks used by the visible and hidden tests of the graded notebooks.

Every failure raises ``AssertionError`` with a Japanese message that says what
was expected and what came back (shape, dtype, largest absolute difference), so
that a student sees *how far off* an answer is, not just that it failed.
"""

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
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


def _shape_hint(actual: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """A short guess at why two shapes differ (transpose, a stray size-1 axis, ...)."""
    if len(actual) == 2 and actual == expected[::-1]:
        return " 行と列が入れ替わっています: 転置 (.T) の付け忘れ・付けすぎはありませんか?"
    squeezed = tuple(n for n in actual if n != 1)
    if squeezed == tuple(n for n in expected if n != 1):
        return (
            " 大きさ 1 の次元の有無が違います: squeeze / unsqueeze / reshape を確認してください。"
        )
    if sorted(actual) == sorted(expected):
        return " 次元の順序が違います: 軸の並び (dim) を確認してください。"
    if len(actual) == len(expected) + 1 or len(actual) + 1 == len(expected):
        return " 次元の数が違います: 和や平均をとる軸 (dim)、keepdim を確認してください。"
    return ""


def assert_shape(value: Any, shape: tuple[int, ...], name: str = "戻り値") -> None:
    """Assert the shape of a tensor or array; say how it differs when it does."""
    actual = tuple(getattr(value, "shape", ()))
    if actual != tuple(shape):
        raise AssertionError(
            f"{name} の形 (shape) が違います: 期待 {tuple(shape)}、実際 {actual}。"
            + _shape_hint(actual, tuple(shape))
        )


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


def _nearly(a: torch.Tensor, e: torch.Tensor, tol: float = 1e-4) -> bool:
    return bool(torch.allclose(a, e, rtol=tol, atol=tol * (1 + float(e.abs().max()))))


def relation_hint(actual: Any, expected: Any, zeros_of: Any = None) -> str:
    """Name a common relation between a wrong result and the expected one, or return "".

    Recognised: a sign flip, a constant ratio (sum vs mean, a factor N, percent
    vs fraction), ``1 - expected``, a constant offset overall or per column (a
    missing or doubled bias), a transpose, and differences only where the
    input ``zeros_of`` is exactly 0 (the convention at 0).
    """
    a = _as_float64(actual, "actual")
    e = _as_float64(expected, "expected")
    if a.shape != e.shape or a.numel() == 0 or not torch.isfinite(a).all():
        return ""
    if not torch.isfinite(e).all() or float(e.abs().max()) == 0.0:
        return ""
    if zeros_of is not None:
        z = _as_float64(zeros_of, "zeros_of")
        if z.shape == a.shape:
            wrong = ~torch.isclose(a, e, rtol=1e-5, atol=1e-6)
            if wrong.any() and bool((z[wrong] == 0).all()):
                return (
                    "入力がちょうど 0 の位置だけが違います: 0 での扱い"
                    " (> と >= の違いなど) を問題文の定義に合わせてください。"
                )
    if _nearly(a, -e):
        return "符号が逆になっています: マイナスの付け忘れ・付けすぎはありませんか?"
    if a.dim() == 2 and a.shape[0] == a.shape[1] > 1 and _nearly(a, e.T):
        return "期待値の転置になっています: 転置 (.T) の付け忘れ・付けすぎはありませんか?"
    big = e.abs() > 1e-3 * float(e.abs().max())
    if int(big.sum()) >= 1 and bool((a[~big].abs() <= 1e-6 + 1e-3 * float(a.abs().max())).all()):
        ratios = a[big] / e[big]
        ratio = float(ratios.median())
        if ratio != 0 and bool(torch.allclose(ratios, torch.full_like(ratios, ratio), rtol=1e-3)):
            if abs(ratio - 100) < 0.1 or abs(ratio - 0.01) < 1e-4:
                return (
                    f"期待値のちょうど {ratio:g} 倍です:"
                    " 百分率 (%) と割合 (0〜1) を取り違えていませんか?"
                )
            if abs(ratio) >= 1:
                k, over = round(ratio), True
            else:
                k, over = round(1 / ratio), False
            exact = abs((ratio if over else 1 / ratio) - k) < 1e-4 * k
            if 2 <= k <= 100_000 and exact:
                if over:
                    return (
                        f"期待値のちょうど {k} 倍です: 平均のところで和をとっていませんか"
                        f" (個数 {k} で割り忘れ、または係数 {k} の付けすぎ)?"
                    )
                return (
                    f"期待値のちょうど 1/{k} です: 和のところで平均をとっていませんか"
                    f" (個数 {k} で余分に割った、または係数 {k} の付け忘れ)?"
                )
    if _nearly(a, 1 - e):
        return "1 − (期待値) になっています: 逆のクラスの確率、または 1 − p と p の取り違えでは?"
    if a.numel() < 2:
        return ""  # any two numbers differ by "a constant": no evidence of a missing term
    offset = a - e
    if _nearly(offset, torch.full_like(offset, float(offset.flatten()[0]))):
        return (
            f"すべての要素が一定値 {float(offset.flatten()[0]):.4g} だけずれています:"
            " 定数項 (バイアスや最初の値) の足し忘れ・二重加算はありませんか?"
        )
    if a.dim() == 2 and a.shape[0] > 1:
        column = offset[:1].expand_as(offset)
        if _nearly(offset, column):
            return (
                "各列が列ごとに一定値だけずれています (バイアスの形 (out,) の値):"
                " バイアスの足し忘れ・二重加算はありませんか?"
            )
    return ""


def assert_close(
    actual: Any,
    expected: Any,
    name: str = "戻り値",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    zeros_of: Any = None,
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    The default tolerances suit float32 results whose sums may run in another
    order than the reference's. Shapes must match exactly (no broadcasting).
    On failure the message names a common relation between the two when
    there is one (see :func:`relation_hint`); ``zeros_of`` is the input whose
    exact zeros a convention at 0 would show.
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
        hint = relation_hint(a, e, zeros_of)
        raise AssertionError(
            f"{name} の値が違います: 最大絶対誤差 {diff:.3g} (許容: atol={atol:g}, rtol={rtol:g})。"
            + (f" {hint}" if hint else "")
            + f" 位置 {index} (平坦化) で期待 {e.flatten()[index].item():.6g}、"
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


def passed(message: str) -> None:
    """Print the one line a visible test shows when everything in its cell passed.

    Put it last in a test cell (after the hidden part), so that it prints only
    when the whole cell passed: ``passed("演習 1.1: 例の値と dtype が正しい")``.
    """
    print(f"✔ {message}")


def _describe_arguments(args: tuple, kwargs: dict) -> str:
    def one(value: Any) -> str:
        if isinstance(value, torch.Tensor | np.ndarray):
            return f"形 {tuple(value.shape)} ({value.dtype})"
        if isinstance(value, list | tuple) and len(value) > 3:
            return f"{type(value).__name__} (長さ {len(value)})"
        if callable(value):
            return getattr(value, "__name__", type(value).__name__)
        return repr(value)[:40]

    parts = [one(v) for v in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def call(func: Callable[..., Any], *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """Call a student's function with valid input; re-raise its errors with the call.

    A ``ValueError`` here means the function refused valid input; any other
    exception is reported with the argument shapes that triggered it and the
    optional ``hint``. ``AssertionError`` and ``NotImplementedError`` pass
    through unchanged (a test's own message, an unsolved exercise).
    """
    try:
        return func(*args, **kwargs)
    except (AssertionError, NotImplementedError):
        raise
    except Exception as error:  # noqa: BLE001 - any error of the student's code
        name = getattr(func, "__qualname__", getattr(func, "__name__", "関数"))
        shown = _describe_arguments(args, kwargs)
        if isinstance(error, ValueError):
            head = f"有効な入力 ({shown}) で {name} が ValueError を送出しました: {error}"
        else:
            head = f"{name}({shown}) が失敗しました: {type(error).__name__}: {error}"
        raise AssertionError(head + (f" ヒント: {hint}" if hint else "")) from error


class ForbiddenBuiltinError(AssertionError):
    """Raised by a built-in that an exercise forbids, while its test runs."""


_ALIASES = {"F": "torch.nn.functional", "nn": "torch.nn", "np": "numpy"}


def _resolve(path: str) -> tuple[Any, str]:
    """(owner object, attribute name) for a dotted path such as ``F.one_hot``."""
    head, _, attribute = path.rpartition(".")
    parts = head.split(".")
    parts[0] = _ALIASES.get(parts[0], parts[0])
    dotted = ".".join(parts)
    owner: Any
    try:
        owner = importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, cls = dotted.rpartition(".")
        owner = getattr(importlib.import_module(module), cls)
    return owner, attribute


def _forbidden_stand_in(original: Any, shown: str, exercise: str) -> Any:
    message = f"{exercise} では {shown} を使わずに実装してください。"

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ForbiddenBuiltinError(message)

    if isinstance(original, type):
        return type(original.__name__, (), {"__init__": refuse, "__call__": refuse})
    refuse.__name__ = getattr(original, "__name__", shown)
    return refuse


@contextlib.contextmanager
def forbidden_builtins(exercise: str, *paths: str) -> Iterator[None]:
    """Make the named built-ins raise while the block runs, then restore them.

    ``paths`` are dotted names (``"F.one_hot"``, ``"torch.Tensor.softmax"``,
    ``"nn.ReLU"``; ``F``, ``nn`` and ``np`` are the usual aliases). Calling one
    inside the block raises :class:`ForbiddenBuiltinError` with the message
    「<exercise> では <name> を使わずに実装してください。」. Names that the
    notebook bound to the same objects (``from torch.nn.functional import
    one_hot``) are replaced too. Everything is put back, whatever happens.
    """
    patched: list[tuple[Any, str, Any, bool]] = []
    rebound: list[tuple[dict, str, Any]] = []
    try:
        for path in paths:
            owner, attribute = _resolve(path)
            original = getattr(owner, attribute)
            own = attribute in vars(owner)
            stand_in = _forbidden_stand_in(original, path, exercise)
            patched.append((owner, attribute, original, own))
            setattr(owner, attribute, stand_in)
            main = getattr(sys.modules.get("__main__"), "__dict__", {})
            for key, value in list(main.items()):
                if value is original:
                    rebound.append((main, key, value))
                    main[key] = stand_in
        yield
    finally:
        for namespace, key, value in reversed(rebound):
            namespace[key] = value
        for owner, attribute, original, own in reversed(patched):
            if own:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)


def assert_no_known_mistake(
    actual: Any,
    mistakes: dict[str, Any],
    name: str = "戻り値",
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> None:
    """Raise with a mistake's name when ``actual`` equals a known wrong answer.

    ``mistakes`` maps the Japanese description of a usual mistake to the value
    that mistake returns on the test's input (stored when the test was written,
    never the correct value). Call it before comparing with the expected value:
    a student who made one of these mistakes reads its name; any other value
    passes silently and is judged by the comparison that follows.
    """
    try:
        a = _as_float64(actual, name)
    except AssertionError:
        return
    for description, wrong in mistakes.items():
        w = torch.as_tensor(np.asarray(wrong, dtype=np.float64))
        if a.shape == w.shape and bool(torch.allclose(a, w, rtol=rtol, atol=atol)):
            raise AssertionError(f"{name} の値が違います: {description}")


def returns(func_name: str, args: tuple, expected: Any, atol: float = 1e-4) -> Callable[[], bool]:
    """A check for :func:`upstream_first`: does ``func_name(*args)`` give ``expected``?

    ``func_name`` is looked up in the notebook's namespace when the check runs.
    ``expected`` is a tensor, or a tuple compared element by element with the
    returned tuple (``None`` skips an element). Any error counts as "no".
    """

    def check() -> bool:
        main = getattr(sys.modules.get("__main__"), "__dict__", {})
        try:
            result = main[func_name](*args)
            pairs = (
                zip(result, expected, strict=True)
                if isinstance(expected, tuple)
                else [(result, expected)]
            )
            for got, want in pairs:
                if want is None:
                    continue
                g, w = _as_float64(got, func_name), _as_float64(want, "期待値")
                if g.shape != w.shape or not bool(torch.allclose(g, w, rtol=atol, atol=atol)):
                    return False
            return True
        except Exception:  # noqa: BLE001 - any failure means the function is not right yet
            return False

    return check


@contextlib.contextmanager
def upstream_first(*checks: tuple[str, Callable[[], bool]]) -> Iterator[None]:
    """Blame an earlier exercise when a test of a later one fails because of it.

    ``checks`` are ``(function name, check)`` pairs in exercise order, the last
    one the function the tested one calls directly (checks from :func:`returns`).
    When the block fails (any error but ``NotImplementedError`` and a forbidden
    built-in) and that last check is false, the failure is replaced by
    「<name> がまだ正しくありません … <name> を先に直してください。」 naming the
    first function whose check is false; otherwise the failure stands as it is.
    """
    try:
        yield
    except (NotImplementedError, ForbiddenBuiltinError):
        raise
    except Exception:
        if not checks or checks[-1][1]():
            raise
        name = next(name for name, check in checks if not check())
        raise AssertionError(
            f"このテストは {name} の結果を使いますが、{name} がまだ正しくありません"
            f" (小さな例で期待と違う値を返しました): {name} を先に直してください。"
        ) from None


def assert_number(
    actual: Any, expected: float, name: str = "戻り値", rtol: float = 1e-5, atol: float = 1e-6
) -> None:
    """Assert that a single number is close to ``expected``, saying both when it is not.

    For scalar results (an error, a loss): unlike :func:`assert_close` it names
    no relation, since one number is always "a constant offset" or "a constant
    ratio" away from another and such a hint would mislead.
    """
    value = (
        float(_as_float64(actual, name).reshape(-1)[0]) if not isinstance(actual, float) else actual
    )
    if not abs(value - expected) <= atol + rtol * abs(expected):
        raise AssertionError(
            f"{name} の値が違います: 期待 {expected:.6g}、実際 {value:.6g}"
            f" (差 {abs(value - expected):.3g}、許容: atol={atol:g}, rtol={rtol:g})。"
        )
