"""Plausible mistakes in chapter 06's exercises, and the graded cells that must catch them.

The reference ``approximate_function`` calls ``relu_basis`` and the reference
``approximation_error`` calls ``approximate_function``, so a mistake upstream
also costs the cells downstream that it breaks; those cells then say
「relu_basis を先に直してください」 (or approximate_function) instead of a hint
about their own function, which the student wrote right.
"""

from harness import Mistake

RELU_BASIS = {"relu_basis_example", "relu_basis_rows_are_shifted_relus"}
APPROXIMATE_FUNCTION = {
    "approximate_function_shapes",
    "approximate_function_relu_acts",
    "approximate_function_interpolates",
    "approximate_function_column_inputs",
}
APPROXIMATION_ERROR = {
    "approximation_error_example",
    "approximation_error_targets",
    "approximation_error_rates",
}
# A wrong basis keeps the shapes of approximate_function's results right.
WRONG_VALUES = (
    RELU_BASIS | APPROXIMATION_ERROR | (APPROXIMATE_FUNCTION - {"approximate_function_shapes"})
)
ALL_CELLS = RELU_BASIS | APPROXIMATE_FUNCTION | APPROXIMATION_ERROR
FIX_RELU_BASIS = "relu_basis を先に直してください"
FIX_APPROXIMATE_FUNCTION = "approximate_function を先に直してください"

# The reference's approximate_function with one line changed (the mistakes below).
APPROXIMATE = """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x_train = x_train.reshape(-1)
    y_train = y_train.reshape(-1)
    x = {grid}
    relu_acts = relu_basis(x, {biases})
    slopes = torch.diff(y_train) / torch.diff(x_train)
    weights = {weights}
    return {y_hat}, relu_acts, x
"""
RIGHT = {
    "grid": "torch.linspace(x_train.min(), x_train.max(), 1000)",
    "biases": "-x_train[:-1]",
    "weights": "torch.diff(slopes, prepend=torch.zeros(1))",
    "y_hat": "y_train[0] + weights @ relu_acts",
}


def approximate(**changes: str) -> str:
    return APPROXIMATE.format(**{**RIGHT, **changes})


ERROR = """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, {n})
    y_hat, _, x = approximate_function(x_train, f(x_train))
    return {result}
"""


def error(n: str = "n_points", result: str = "float((y_hat - f(x)).abs().max())") -> str:
    return ERROR.format(n=n, result=result)


MISTAKES = {
    "relu_basis_transposed": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return torch.relu(x[:, None] + biases[None, :])  # (len(x), len(biases))
"""
        },
        # approximate_function's weights @ relu_acts no longer fits: everything fails.
        fails=ALL_CELLS,
        says=("転置", FIX_RELU_BASIS),
    ),
    "relu_basis_subtracts_biases": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return torch.relu(x[None, :] - biases[:, None])
"""
        },
        fails=WRONG_VALUES,
        says=("符号が逆", FIX_RELU_BASIS),
    ),
    "relu_basis_shift_after_relu": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return torch.relu(x)[None, :] + biases[:, None]
"""
        },
        fails=WRONG_VALUES,
        says=("ReLU をとってからバイアスを足しています", FIX_RELU_BASIS),
    ),
    "relu_basis_forgets_relu": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return x[None, :] + biases[:, None]
"""
        },
        fails=WRONG_VALUES,
        says=("とり忘れ", FIX_RELU_BASIS),
    ),
    "approximate_function_forgets_offset": Mistake(
        # The seed's version: right for sin on [0, 2π] only, because sin(0) = 0.
        cells={"approximate_function": approximate(y_hat="weights @ relu_acts")},
        fails={"approximate_function_interpolates", "approximate_function_column_inputs"}
        | APPROXIMATION_ERROR,
        says=("y_train[0] を足し忘れています", FIX_APPROXIMATE_FUNCTION),
    ),
    "approximate_function_one_relu_per_sample": Mistake(
        # N ReLUs: the last one is 0 on the whole grid, so y_hat is still right.
        cells={
            "approximate_function": approximate(
                biases="-x_train",
                weights="torch.diff(torch.cat([slopes, torch.zeros(1)]), prepend=torch.zeros(1))",
            )
        },
        fails={
            "approximate_function_shapes",
            "approximate_function_relu_acts",
            "approximate_function_column_inputs",
        },
        says=("N - 1",),
    ),
    "approximate_function_slopes_as_weights": Mistake(
        cells={"approximate_function": approximate(weights="slopes")},
        fails={"approximate_function_interpolates", "approximate_function_column_inputs"}
        | APPROXIMATION_ERROR,
        says=("傾きの変化", FIX_APPROXIMATE_FUNCTION),
    ),
    "approximate_function_grid_is_the_samples": Mistake(
        # Evaluates the ReLUs at the samples themselves instead of 1000 dense points.
        cells={"approximate_function": approximate(grid="x_train")},
        fails=APPROXIMATE_FUNCTION | APPROXIMATION_ERROR,
        says=("1000 点の細かい格子", FIX_APPROXIMATE_FUNCTION),
    ),
    "approximate_function_uses_np_interp": Mistake(
        # The polyline from NumPy instead of the weighted sum of ReLUs.
        cells={
            "approximate_function": approximate(
                y_hat="torch.from_numpy(np.interp(x.numpy(), x_train.numpy(), y_train.numpy()))"
            )
        },
        fails=APPROXIMATE_FUNCTION,
        says=("np.interp を使わずに",),
    ),
    "approximate_function_column_input_not_flattened": Mistake(
        # Right for (N,) inputs; (N, 1) inputs broadcast into a (N-1, N-1, 1000) mess.
        cells={
            "approximate_function": """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x = torch.linspace(x_train.min(), x_train.max(), 1000)
    relu_acts = torch.relu(x - x_train[:-1, None])
    slopes = (y_train[1:] - y_train[:-1]) / (x_train[1:] - x_train[:-1])
    weights = slopes.clone()
    weights[1:] -= slopes[:-1]
    return y_train[0] + weights @ relu_acts, relu_acts, x
"""
        },
        fails={"approximate_function_column_inputs"},
        says=("reshape(-1)",),
    ),
    "approximate_function_shifts_y_train_in_place": Mistake(
        cells={
            "approximate_function": """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x_train = x_train.reshape(-1)
    y_train = y_train.reshape(-1)
    offset = y_train[0].item()
    y_train -= offset  # start the curve at 0 (modifies the caller's tensor)
    x = torch.linspace(x_train.min(), x_train.max(), 1000)
    relu_acts = relu_basis(x, -x_train[:-1])
    slopes = torch.diff(y_train) / torch.diff(x_train)
    weights = torch.diff(slopes, prepend=torch.zeros(1))
    return offset + weights @ relu_acts, relu_acts, x
"""
        },
        fails={"approximate_function_interpolates"},
        says=("書き換えられました",),
    ),
    "approximation_error_mean_instead_of_max": Mistake(
        cells={"approximation_error": error(result="float((y_hat - f(x)).abs().mean())")},
        fails=APPROXIMATION_ERROR,
        says=("平均をとっています",),
    ),
    "approximation_error_one_sample_too_many": Mistake(
        cells={"approximation_error": error(n="n_points + 1")},
        # Also caught by the rates: 4 -> 8 intervals become 5 -> 9 (ratio 3.24, not 4).
        fails=APPROXIMATION_ERROR,
        says=("n_points + 1 点",),
    ),
    "approximation_error_at_the_samples_only": Mistake(
        cells={
            "approximation_error": """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, n_points)
    y_train = f(x_train)
    y_hat, _, x = approximate_function(x_train, y_train)
    at_samples = torch.from_numpy(np.interp(x_train.numpy(), x.numpy(), y_hat.numpy()))
    return float((at_samples - y_train).abs().max())
"""
        },
        fails=APPROXIMATION_ERROR,
        says=("サンプル点の上だけ",),
    ),
    "approximation_error_signed_difference": Mistake(
        # max(y_hat - f) without abs: right wherever the polyline lies above f (convex f).
        cells={"approximation_error": error(result="float((y_hat - f(x)).max())")},
        fails={"approximation_error_targets", "approximation_error_rates"},
        says=("絶対値",),
    ),
    "approximation_error_returns_a_tensor": Mistake(
        cells={"approximation_error": error(result="(y_hat - f(x)).abs().max()")},
        fails={"approximation_error_example"},
        says=("float(",),
    ),
}
