"""Plausible mistakes in chapter 01's exercises, and the graded cells that must catch them."""

from harness import Mistake

LENGTH_CHECKS = """
    if len(vectors) != len(coefficients) or len(vectors) == 0:
        raise ValueError("vectors と coefficients の長さが違うか、空です")
"""

AFFINE_CHECKS = """
    if X.dim() != 2 or W.dim() != 2 or b.dim() != 1:
        raise ValueError("X, W は 2 次元、b は 1 次元にしてください")
    if X.shape[1] != W.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"形が合いません: X {X.shape}, W {W.shape}, b {b.shape}")
"""

MISTAKES = {
    # ---------------------------------------------------------------- 1.1 linear_combination
    "linear_combination_zip_without_length_check": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):
    return sum(c * v for c, v in zip(coefficients, vectors))
"""
        },
        fails={"linear_combination_errors"},
        says=("長さが違う", "ValueError を送出してください"),
    ),
    "linear_combination_length_check_without_empty_check": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):
    if len(vectors) != len(coefficients):
        raise ValueError("vectors と coefficients の長さが違います")
    return sum(c * v for c, v in zip(coefficients, vectors))
"""
        },
        fails={"linear_combination_errors"},
        says=("空 (長さ 0)", "ValueError を送出してください"),
    ),
    "linear_combination_accumulates_into_first_vector": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):"""
            + LENGTH_CHECKS
            + """
    total = vectors[0]
    total *= coefficients[0]
    for c, v in zip(coefficients[1:], vectors[1:]):
        total += c * v
    return total
"""
        },
        fails={"linear_combination_general"},
        says=("vectors[0] の値が書き換えられました",),
    ),
    "linear_combination_mean_instead_of_sum": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):"""
            + LENGTH_CHECKS
            + """
    return torch.stack([c * v for c, v in zip(coefficients, vectors)]).mean(dim=0)
"""
        },
        fails={"linear_combination_example", "linear_combination_general"},
        says=("平均",),
    ),
    "linear_combination_matmul_with_stack": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):"""
            + LENGTH_CHECKS
            + """
    stacked = torch.stack(list(vectors))
    return torch.as_tensor(coefficients, dtype=stacked.dtype) @ stacked
"""
        },
        fails={"linear_combination_general"},
        says=("c @ torch.stack(vectors)", "最初の軸"),
    ),
    "linear_combination_returns_float64": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):"""
            + LENGTH_CHECKS
            + """
    stacked = torch.stack(list(vectors)).double()
    return torch.tensordot(torch.as_tensor(coefficients, dtype=torch.float64), stacked, dims=1)
"""
        },
        fails={"linear_combination_example"},
        says=("dtype", "float32"),
    ),
    # ---------------------------------------------------------------- 1.2 affine
    "affine_missing_transpose_in_the_checks": Mistake(
        cells={
            "affine": """
def affine(X, W, b):
    if X.shape[1] != W.shape[0] or b.shape[0] != W.shape[1]:
        raise ValueError("形が合いません")
    return X @ W + b
"""
        },
        fails={"affine_matches_linear", "affine_random_shapes", "affine_rejects_bad_shapes"},
        says=("有効な入力", "ValueError", "(out, in)", "転置"),
    ),
    "affine_missing_transpose": Mistake(
        cells={"affine": "def affine(X, W, b):" + AFFINE_CHECKS + "    return X @ W + b\n"},
        fails={"affine_matches_linear", "affine_random_shapes", "affine_rejects_bad_shapes"},
        says=("転置",),
    ),
    "affine_without_bias": Mistake(
        cells={"affine": "def affine(X, W, b):" + AFFINE_CHECKS + "    return X @ W.T\n"},
        fails={"affine_matches_linear", "affine_random_shapes"},
        says=("バイアスの足し忘れ",),
    ),
    "affine_with_f_linear": Mistake(
        cells={"affine": "def affine(X, W, b):" + AFFINE_CHECKS + "    return F.linear(X, W, b)\n"},
        fails={"affine_matches_linear", "affine_random_shapes", "affine_rejects_bad_shapes"},
        says=("演習 1.2 では F.linear を使わずに実装してください",),
    ),
    "affine_without_shape_checks": Mistake(
        cells={"affine": "def affine(X, W, b):\n    return X @ W.T + b\n"},
        fails={"affine_rejects_bad_shapes"},
        says=("W が (in, out) = (3, 2) の向きで渡された", "ValueError を送出してください"),
    ),
    "affine_checks_input_but_not_bias": Mistake(
        cells={
            "affine": """
def affine(X, W, b):
    if X.dim() != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"X {tuple(X.shape)} と W {tuple(W.shape)} が合いません")
    return X @ W.T + b
"""
        },
        fails={"affine_rejects_bad_shapes"},
        says=("b の長さ 3 が出力次元 2 と違う",),
    ),
    "affine_accepts_a_1d_x": Mistake(
        cells={
            "affine": """
def affine(X, W, b):
    if X.shape[-1] != W.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"形が合いません: X {X.shape}, W {W.shape}, b {b.shape}")
    return X @ W.T + b
"""
        },
        fails={"affine_rejects_bad_shapes"},
        says=("X が 1 次元",),
    ),
    # ---------------------------------------------------------------- 1.3 to_numpy
    "to_numpy_shares_memory": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return t.detach().cpu().numpy()\n"},
        fails={"to_numpy_is_a_copy"},
        says=("メモリを共有しています", ".cpu() も .detach() も"),
    ),
    "to_numpy_force_shares_memory": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return t.numpy(force=True)\n"},
        fails={"to_numpy_is_a_copy"},
        says=("メモリを共有しています",),
    ),
    "to_numpy_without_detach": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return t.cpu().numpy().copy()\n"},
        fails={"to_numpy_values_and_dtype", "to_numpy_is_a_copy"},
        says=("requires_grad=True", "切り離してください"),
    ),
    "to_numpy_through_python_lists": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return np.array(t.tolist())\n"},
        fails={"to_numpy_values_and_dtype"},
        says=("float64", "tolist()"),
    ),
    "to_numpy_casts_to_float32": Mistake(
        cells={
            "to_numpy": "def to_numpy(t):\n    return t.detach().cpu().numpy().astype(np.float32)\n"
        },
        fails={"to_numpy_values_and_dtype"},
        says=("int64 テンソルの to_numpy の dtype が違います",),
    ),
    # ---------------------------------------------------------------- 1.4 square_sum_grad
    "square_sum_grad_sets_requires_grad_on_input": Mistake(
        cells={
            "square_sum_grad": """
def square_sum_grad(x):
    x.requires_grad_(True)
    (x ** 2).sum().backward()
    return x.grad
"""
        },
        fails={"square_sum_grad_leaves_input"},
        says=("requires_grad が False から True に",),
    ),
    "square_sum_grad_accumulates_into_input_grad": Mistake(
        cells={
            "square_sum_grad": """
def square_sum_grad(x):
    if not x.requires_grad:
        x = x.detach().clone().requires_grad_(True)
    (x ** 2).sum().backward()
    return x.grad
"""
        },
        fails={"square_sum_grad_leaves_input"},
        says=("累積",),
    ),
    "square_sum_grad_autograd_grad_on_the_input": Mistake(
        cells={
            "square_sum_grad": """
def square_sum_grad(x):
    (grad,) = torch.autograd.grad((x ** 2).sum(), x)
    return grad
"""
        },
        fails={"square_sum_grad_values", "square_sum_grad_leaves_input"},
        says=("requires_grad=False のテンソルでも動きますか",),
    ),
    "square_sum_grad_mean_instead_of_sum": Mistake(
        cells={
            "square_sum_grad": """
def square_sum_grad(x):
    leaf = x.detach().clone().requires_grad_(True)
    (leaf ** 2).mean().backward()
    return leaf.grad
"""
        },
        fails={"square_sum_grad_values", "square_sum_grad_leaves_input"},
        says=("平均",),
    ),
    "square_sum_grad_returns_float64": Mistake(
        cells={
            "square_sum_grad": """
def square_sum_grad(x):
    leaf = x.detach().double().requires_grad_(True)
    (leaf ** 2).sum().backward()
    return leaf.grad
"""
        },
        fails={"square_sum_grad_values"},
        says=("dtype", "float32"),
    ),
}
