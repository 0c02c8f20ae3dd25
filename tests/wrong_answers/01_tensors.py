"""Plausible mistakes in chapter 01's exercises, and the graded cells that must catch them."""

from harness import Mistake

MISTAKES = {
    "linear_combination_zip_without_length_check": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):
    return sum(c * v for c, v in zip(coefficients, vectors))
"""
        },
        fails={"linear_combination_errors"},
    ),
    "linear_combination_accumulates_into_first_vector": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):
    if len(vectors) != len(coefficients) or len(vectors) == 0:
        raise ValueError("長さが違います")
    total = vectors[0]
    total *= coefficients[0]
    for c, v in zip(coefficients[1:], vectors[1:]):
        total += c * v
    return total
"""
        },
        fails={"linear_combination_general"},
    ),
    "linear_combination_mean_instead_of_sum": Mistake(
        cells={
            "linear_combination": """
def linear_combination(vectors, coefficients):
    if len(vectors) != len(coefficients) or len(vectors) == 0:
        raise ValueError("長さが違います")
    return torch.stack([c * v for c, v in zip(coefficients, vectors)]).mean(dim=0)
"""
        },
        fails={"linear_combination_example", "linear_combination_general"},
    ),
    "affine_missing_transpose": Mistake(
        cells={
            "affine": """
def affine(X, W, b):
    if X.shape[1] != W.shape[0] or b.shape[0] != W.shape[1]:
        raise ValueError("形が合いません")
    return X @ W + b
"""
        },
        fails={"affine_matches_linear", "affine_random_shapes", "affine_rejects_bad_shapes"},
    ),
    "affine_without_shape_checks": Mistake(
        cells={"affine": "def affine(X, W, b):\n    return X @ W.T + b\n"},
        fails={"affine_rejects_bad_shapes"},
    ),
    "affine_checks_input_but_not_bias": Mistake(
        cells={
            "affine": """
def affine(X, W, b):
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X {tuple(X.shape)} と W {tuple(W.shape)} が合いません")
    return X @ W.T + b
"""
        },
        fails={"affine_rejects_bad_shapes"},
    ),
    "to_numpy_shares_memory": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return t.detach().cpu().numpy()\n"},
        fails={"to_numpy_is_a_copy"},
    ),
    "to_numpy_through_python_lists": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return np.array(t.tolist())\n"},
        fails={"to_numpy_values_and_dtype"},
    ),
    "to_numpy_without_detach": Mistake(
        cells={"to_numpy": "def to_numpy(t):\n    return t.cpu().numpy().copy()\n"},
        fails={"to_numpy_values_and_dtype", "to_numpy_is_a_copy"},
    ),
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
    ),
}
