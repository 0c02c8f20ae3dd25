"""Plausible mistakes in chapter 06's exercises, and the graded cells that must catch them.

The reference ``approximate_function`` calls ``relu_basis`` and the reference
``approximation_error`` calls ``approximate_function``, so a mistake upstream
also costs the cells downstream that it breaks.
"""

from harness import Mistake

RELU_BASIS = {"relu_basis_example", "relu_basis_rows_are_shifted_relus"}
APPROXIMATION_ERROR = {
    "approximation_error_example",
    "approximation_error_targets",
    "approximation_error_rates",
}
# A wrong basis keeps the shapes of approximate_function's results right.
WRONG_VALUES = (
    RELU_BASIS
    | APPROXIMATION_ERROR
    | {
        "approximate_function_relu_acts",
        "approximate_function_interpolates",
        "approximate_function_column_inputs",
    }
)
ALL_CELLS = WRONG_VALUES | {"approximate_function_shapes"}

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
    ),
    "relu_basis_subtracts_biases": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return torch.relu(x[None, :] - biases[:, None])
"""
        },
        fails=WRONG_VALUES,
    ),
    "relu_basis_shift_after_relu": Mistake(
        cells={
            "relu_basis": """
def relu_basis(x, biases):
    return torch.relu(x)[None, :] + biases[:, None]
"""
        },
        fails=WRONG_VALUES,
    ),
    "approximate_function_forgets_offset": Mistake(
        # The seed's version: right for sin on [0, 2π] only, because sin(0) = 0.
        cells={
            "approximate_function": """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x_train = x_train.reshape(-1)
    y_train = y_train.reshape(-1)
    x = torch.linspace(x_train.min(), x_train.max(), 1000)
    relu_acts = relu_basis(x, -x_train[:-1])
    weights = torch.zeros(len(x_train) - 1)
    previous = 0.0
    for i in range(len(x_train) - 1):
        slope = (y_train[i + 1] - y_train[i]) / (x_train[i + 1] - x_train[i])
        weights[i] = slope - previous
        previous = slope
    return weights @ relu_acts, relu_acts, x
"""
        },
        fails={
            "approximate_function_interpolates",
            "approximate_function_column_inputs",
        }
        | APPROXIMATION_ERROR,
    ),
    "approximate_function_one_relu_per_sample": Mistake(
        # N ReLUs: the last one is 0 on the whole grid, so y_hat is still right.
        cells={
            "approximate_function": """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x_train = x_train.reshape(-1)
    y_train = y_train.reshape(-1)
    x = torch.linspace(x_train.min(), x_train.max(), 1000)
    relu_acts = relu_basis(x, -x_train)
    slopes = torch.diff(y_train) / torch.diff(x_train)
    slopes = torch.cat([slopes, torch.zeros(1)])
    weights = torch.diff(slopes, prepend=torch.zeros(1))
    return y_train[0] + weights @ relu_acts, relu_acts, x
"""
        },
        fails={
            "approximate_function_shapes",
            "approximate_function_relu_acts",
            "approximate_function_column_inputs",
        },
    ),
    "approximate_function_slopes_as_weights": Mistake(
        cells={
            "approximate_function": """
def approximate_function(x_train: torch.Tensor, y_train: torch.Tensor):
    x_train = x_train.reshape(-1)
    y_train = y_train.reshape(-1)
    x = torch.linspace(x_train.min(), x_train.max(), 1000)
    relu_acts = relu_basis(x, -x_train[:-1])
    weights = torch.diff(y_train) / torch.diff(x_train)
    return y_train[0] + weights @ relu_acts, relu_acts, x
"""
        },
        fails={
            "approximate_function_interpolates",
            "approximate_function_column_inputs",
        }
        | APPROXIMATION_ERROR,
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
    ),
    "approximation_error_mean_instead_of_max": Mistake(
        cells={
            "approximation_error": """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, n_points)
    y_hat, _, x = approximate_function(x_train, f(x_train))
    return float((y_hat - f(x)).abs().mean())
"""
        },
        fails=APPROXIMATION_ERROR,
    ),
    "approximation_error_one_sample_too_many": Mistake(
        cells={
            "approximation_error": """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, n_points + 1)
    y_hat, _, x = approximate_function(x_train, f(x_train))
    return float((y_hat - f(x)).abs().max())
"""
        },
        # Also caught by the rates: 4 -> 8 intervals become 5 -> 9 (ratio 3.24, not 4).
        fails=APPROXIMATION_ERROR,
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
    ),
    "approximation_error_signed_difference": Mistake(
        # max(y_hat - f) without abs: right wherever the polyline lies above f (convex f).
        cells={
            "approximation_error": """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, n_points)
    y_hat, _, x = approximate_function(x_train, f(x_train))
    return float((y_hat - f(x)).max())
"""
        },
        fails={"approximation_error_targets", "approximation_error_rates"},
    ),
    "approximation_error_returns_a_tensor": Mistake(
        cells={
            "approximation_error": """
def approximation_error(f, n_points, a, b):
    x_train = torch.linspace(a, b, n_points)
    y_hat, _, x = approximate_function(x_train, f(x_train))
    return (y_hat - f(x)).abs().max()
"""
        },
        fails={"approximation_error_example"},
    ),
}
