"""Plausible mistakes in chapter 03's exercises, and the graded cells that must catch them."""

from harness import Mistake

MISTAKES = {
    "one_hot_integer_dtype": Mistake(
        # F.one_hot returns int64.
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if (labels < 0).any() or (labels >= num_classes).any():
        raise ValueError(f"labels の値が範囲外です (形 {tuple(labels.shape)})")
    return F.one_hot(labels, num_classes)
"""
        },
        fails={"one_hot_values"},
    ),
    "one_hot_width_from_largest_label": Mistake(
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if (labels < 0).any() or (labels >= num_classes).any():
        raise ValueError(f"labels の値が範囲外です (形 {tuple(labels.shape)})")
    return F.one_hot(labels).float()
"""
        },
        fails={"one_hot_values"},
    ),
    "one_hot_without_range_check": Mistake(
        # A negative label silently marks the last column; a too large one raises IndexError.
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels] = 1.0
    return encoded
"""
        },
        fails={"one_hot_out_of_range"},
    ),
    "one_hot_checks_upper_bound_only": Mistake(
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if labels.max() >= num_classes:
        raise ValueError(f"labels の最大値 {int(labels.max())} が大きすぎます")
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels] = 1.0
    return encoded
"""
        },
        fails={"one_hot_out_of_range"},
    ),
    "logistic_regression_without_sigmoid": Mistake(
        cells={
            "LogisticRegression": """
class LogisticRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.linear(x)
"""
        },
        fails={"logistic_regression_forward"},
    ),
    "logistic_regression_softmax_instead_of_sigmoid": Mistake(
        cells={
            "LogisticRegression": """
class LogisticRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, x):
        return torch.softmax(self.linear(x), dim=1)
"""
        },
        fails={"logistic_regression_forward"},
    ),
    "logistic_regression_seed_attribute_name": Mistake(
        cells={
            "LogisticRegression": """
class LogisticRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = nn.Linear(n_input, n_output)

    def forward(self, x):
        return torch.sigmoid(self.l1(x))
"""
        },
        fails={"logistic_regression_structure", "logistic_regression_forward"},
    ),
    "softmax_without_shift": Mistake(
        cells={
            "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)
"""
        },
        fails={"softmax_large_logits"},
    ),
    "softmax_shifts_by_global_max": Mistake(
        # One maximum for the whole tensor: a row far below it underflows to 0 / 0.
        cells={
            "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z - z.max())
    return e / e.sum(dim=dim, keepdim=True)
"""
        },
        fails={"softmax_large_logits"},
    ),
    "softmax_ignores_dim": Mistake(
        cells={
            "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z - z.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)
"""
        },
        fails={"softmax_large_logits", "softmax_dim"},
    ),
    "softmax_without_keepdim": Mistake(
        # (N, C) - (N,) broadcasts along the wrong axis (silently when N == C).
        cells={
            "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z - z.max(dim=dim).values)
    return e / e.sum(dim=dim)
"""
        },
        fails={"softmax_matches_torch", "softmax_large_logits", "softmax_dim"},
    ),
    "softmax_shifts_the_input_in_place": Mistake(
        cells={
            "softmax": """
def softmax(z, dim=-1):
    z -= z.max(dim=dim, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)
"""
        },
        fails={"softmax_matches_torch"},
    ),
    "accuracy_argmax_over_dim_0": Mistake(
        cells={
            "accuracy": """
def accuracy(scores, labels):
    return (scores.argmax(dim=0) == labels).float().mean().item()
"""
        },
        fails={"accuracy_values", "accuracy_float_labels"},
    ),
    "accuracy_in_percent": Mistake(
        cells={
            "accuracy": """
def accuracy(scores, labels):
    return 100 * (scores.argmax(dim=1) == labels).float().mean().item()
"""
        },
        fails={"accuracy_values", "accuracy_float_labels"},
    ),
    "accuracy_returns_a_tensor": Mistake(
        cells={
            "accuracy": """
def accuracy(scores, labels):
    return (scores.argmax(dim=1) == labels).float().mean()
"""
        },
        fails={"accuracy_values"},
    ),
    "accuracy_gathers_with_the_labels": Mistake(
        # gather needs int64 indices: fails for labels stored as floats.
        cells={
            "accuracy": """
def accuracy(scores, labels):
    picked = scores.gather(1, labels[:, None])
    best = scores.max(dim=1, keepdim=True).values
    return (picked == best).float().mean().item()
"""
        },
        fails={"accuracy_float_labels"},
    ),
    "accuracy_argmax_keepdim": Mistake(
        # (N, 1) == (N,) broadcasts to (N, N).
        cells={
            "accuracy": """
def accuracy(scores, labels):
    return (scores.argmax(dim=1, keepdim=True) == labels).float().mean().item()
"""
        },
        fails={"accuracy_values", "accuracy_float_labels"},
    ),
}
