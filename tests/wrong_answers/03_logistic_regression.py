"""Plausible mistakes in chapter 03's exercises, and the graded cells that must catch them.

``ALTERNATIVES`` are correct solutions written without the forbidden built-ins
(another route than the reference): they must keep full marks.
"""

from harness import Mistake

ONE_HOT_CELLS = {"one_hot_values", "one_hot_out_of_range"}
SOFTMAX_CELLS = {"softmax_matches_torch", "softmax_large_logits", "softmax_dim"}
ACCURACY_CELLS = {"accuracy_values", "accuracy_float_labels", "accuracy_invalid_input"}

RANGE_CHECK = """
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels に範囲外の値があります: {labels.tolist()}")
"""


def one_hot_with(body: str) -> str:
    return "def one_hot(labels, num_classes):" + RANGE_CHECK + body


def softmax_returning(expression: str) -> str:
    return f"def softmax(z, dim=-1):\n    return {expression}\n"


CHECKED = """
    if len(scores) != len(labels) or len(labels) == 0:
        raise ValueError(f"scores {tuple(scores.shape)} と labels {tuple(labels.shape)} が不正です")
"""


def accuracy_with(body: str) -> str:
    return "def accuracy(scores, labels):" + CHECKED + body


def logistic_regression(init: str, forward: str) -> str:
    return f"""
class LogisticRegression(nn.Module):
    def __init__(self, n_input, n_output):
{init}

    def forward(self, x):
        return {forward}
"""


FINE_INIT = """        super().__init__()
        self.linear = nn.Linear(n_input, n_output)"""

MISTAKES = {
    # ------------------------------------------------------------ one_hot
    "one_hot_uses_F_one_hot": Mistake(
        cells={
            "one_hot": one_hot_with("    return F.one_hot(labels.long(), num_classes).float()\n")
        },
        fails=ONE_HOT_CELLS,
        says="演習 3.1 では F.one_hot を使わずに",
    ),
    "one_hot_integer_dtype": Mistake(
        cells={
            "one_hot": one_hot_with(
                """    encoded = torch.zeros(len(labels), num_classes, dtype=torch.int64)
    encoded[torch.arange(len(labels)), labels.long()] = 1
    return encoded
"""
            )
        },
        fails={"one_hot_values"},
        says=("torch.float32", ".float()"),
    ),
    "one_hot_off_by_one": Mistake(
        # Numbering the classes from 1: label 0 lands in the last column (index -1).
        cells={
            "one_hot": one_hot_with(
                """    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels.long() - 1] = 1.0
    return encoded
"""
            )
        },
        fails={"one_hot_values"},
        says="-1 列ずれています",
    ),
    "one_hot_width_from_largest_label": Mistake(
        cells={
            "one_hot": one_hot_with(
                """    encoded = torch.zeros(len(labels), int(labels.max()) + 1)
    encoded[torch.arange(len(labels)), labels.long()] = 1.0
    return encoded
"""
            )
        },
        fails={"one_hot_values"},
        says="列数は num_classes",
    ),
    "one_hot_crashes_on_empty_labels": Mistake(
        # labels.min() of an empty tensor raises.
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels に範囲外の値があります: {labels.tolist()}")
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels.long()] = 1.0
    return encoded
"""
        },
        fails={"one_hot_values"},
        says=("空の labels (N = 0)", "範囲のチェックを飛ばしていますか"),
    ),
    "one_hot_without_range_check": Mistake(
        # A negative label silently marks the last column; a too large one raises IndexError.
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels.long()] = 1.0
    return encoded
"""
        },
        fails={"one_hot_out_of_range"},
        says=("ValueError を送出してください", "IndexError"),
    ),
    "one_hot_checks_upper_bound_only": Mistake(
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if len(labels) and labels.max() >= num_classes:
        raise ValueError(f"labels の値 {int(labels.max())} が大きすぎます")
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels.long()] = 1.0
    return encoded
"""
        },
        fails={"one_hot_out_of_range"},
        says="負の値",
    ),
    "one_hot_message_without_the_value": Mistake(
        cells={
            "one_hot": """
def one_hot(labels, num_classes):
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("labels に範囲外の値があります。")
    encoded = torch.zeros(len(labels), num_classes)
    encoded[torch.arange(len(labels)), labels.long()] = 1.0
    return encoded
"""
        },
        fails={"one_hot_out_of_range"},
        says="範囲外の値 (7)",
    ),
    # ------------------------------------------------------------ LogisticRegression
    "logistic_regression_without_sigmoid": Mistake(
        cells={"LogisticRegression": logistic_regression(FINE_INIT, "self.linear(x)")},
        fails={"logistic_regression_forward"},
        says="シグモイド (torch.sigmoid) を通していますか",
    ),
    "logistic_regression_softmax_instead_of_sigmoid": Mistake(
        cells={
            "LogisticRegression": logistic_regression(
                FINE_INIT, "torch.softmax(self.linear(x), dim=1)"
            )
        },
        fails={"logistic_regression_forward"},
        says="ソフトマックスを使っていませんか",
    ),
    "logistic_regression_seed_attribute_name": Mistake(
        cells={
            "LogisticRegression": logistic_regression(
                """        super().__init__()
        self.l1 = nn.Linear(n_input, n_output)""",
                "torch.sigmoid(self.l1(x))",
            )
        },
        fails={"logistic_regression_structure", "logistic_regression_forward"},
        says=("['l1']", "先に演習 3.2 の構造のテストを直してください"),
    ),
    "logistic_regression_swapped_sizes": Mistake(
        cells={
            "LogisticRegression": logistic_regression(
                """        super().__init__()
        self.linear = nn.Linear(n_output, n_input)""",
                "torch.sigmoid(self.linear(x))",
            )
        },
        fails={"logistic_regression_structure", "logistic_regression_forward"},
        says="n_input と n_output が入れ替わっていませんか",
    ),
    "logistic_regression_without_super_init": Mistake(
        cells={
            "LogisticRegression": logistic_regression(
                "        self.linear = nn.Linear(n_input, n_output)",
                "torch.sigmoid(self.linear(x))",
            )
        },
        fails={"logistic_regression_structure", "logistic_regression_forward"},
        says="super().__init__() を呼んでいますか",
    ),
    # ------------------------------------------------------------ softmax: forbidden built-ins
    "softmax_uses_torch_softmax": Mistake(
        cells={"softmax": softmax_returning("torch.softmax(z, dim=dim)")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.softmax を使わずに",
    ),
    "softmax_uses_F_softmax": Mistake(
        cells={"softmax": softmax_returning("F.softmax(z, dim=dim)")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では F.softmax を使わずに",
    ),
    "softmax_uses_nn_Softmax": Mistake(
        cells={"softmax": softmax_returning("nn.Softmax(dim=dim)(z)")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では nn.Softmax を使わずに",
    ),
    "softmax_uses_torch_log_softmax": Mistake(
        cells={"softmax": softmax_returning("torch.exp(torch.log_softmax(z, dim=dim))")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.log_softmax を使わずに",
    ),
    "softmax_uses_F_log_softmax": Mistake(
        cells={"softmax": softmax_returning("F.log_softmax(z, dim=dim).exp()")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では F.log_softmax を使わずに",
    ),
    "softmax_uses_the_tensor_method": Mistake(
        cells={"softmax": softmax_returning("z.softmax(dim)")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.Tensor.softmax を使わずに",
    ),
    "softmax_uses_the_tensor_log_softmax": Mistake(
        cells={"softmax": softmax_returning("z.log_softmax(dim).exp()")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.Tensor.log_softmax を使わずに",
    ),
    "softmax_uses_torch_special_softmax": Mistake(
        cells={"softmax": softmax_returning("torch.special.softmax(z, dim)")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.special.softmax を使わずに",
    ),
    "softmax_uses_torch_special_log_softmax": Mistake(
        cells={"softmax": softmax_returning("torch.special.log_softmax(z, dim).exp()")},
        fails=SOFTMAX_CELLS,
        says="演習 3.3 では torch.special.log_softmax を使わずに",
    ),
    # ------------------------------------------------------------ softmax: classic mistakes
    "softmax_without_shift": Mistake(
        cells={
            "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)
"""
        },
        fails={"softmax_large_logits"},
        says=("inf または nan", "最大値"),
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
        says=("inf または nan", "スライスごとに"),
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
        says="代わりに dim=1 に沿った和が 1 です",
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
        fails=SOFTMAX_CELLS,
        says="keepdim=True",
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
        fails=SOFTMAX_CELLS,
        says="z の値が書き換えられました",
    ),
    # ------------------------------------------------------------ accuracy
    "accuracy_argmax_over_dim_0": Mistake(
        cells={
            "accuracy": accuracy_with(
                "    return (scores.argmax(dim=0) == labels).float().mean().item()\n"
            )
        },
        fails={"accuracy_values", "accuracy_float_labels", "accuracy_invalid_input"},
        says=(
            "argmax を次元 0 (列ごと) でとっていませんか",
            "argmax を次元 1 (各行) でとっていますか",
        ),
    ),
    "accuracy_in_percent": Mistake(
        cells={
            "accuracy": accuracy_with(
                "    return 100 * (scores.argmax(dim=1) == labels).float().mean().item()\n"
            )
        },
        fails={"accuracy_values", "accuracy_float_labels"},
        says="百分率 (%) ではなく",
    ),
    "accuracy_returns_a_tensor": Mistake(
        cells={
            "accuracy": accuracy_with(
                "    return (scores.argmax(dim=1) == labels).float().mean()\n"
            )
        },
        fails={"accuracy_values", "accuracy_float_labels"},
        says="Tensor が返りました",
    ),
    "accuracy_counts_instead_of_fraction": Mistake(
        cells={
            "accuracy": accuracy_with("    return float((scores.argmax(dim=1) == labels).sum())\n")
        },
        fails={"accuracy_values", "accuracy_float_labels"},
        says="正解した行の数を返していませんか",
    ),
    "accuracy_gathers_with_the_labels": Mistake(
        # gather needs int64 indices (float labels fail), and a tie counts as a hit.
        cells={
            "accuracy": accuracy_with(
                """    picked = scores.gather(1, labels[:, None])
    best = scores.max(dim=1, keepdim=True).values
    return (picked == best).float().mean().item()
"""
            )
        },
        fails={"accuracy_values", "accuracy_float_labels"},
        says=("正解と数えていませんか", ".long() で整数に"),
    ),
    "accuracy_argmax_keepdim": Mistake(
        # (N, 1) == (N,) broadcasts to (N, N).
        cells={
            "accuracy": accuracy_with(
                "    return (scores.argmax(dim=1, keepdim=True) == labels).float().mean().item()\n"
            )
        },
        fails={"accuracy_values", "accuracy_float_labels"},
        says="(N, N) に広がっていませんか",
    ),
    "accuracy_without_input_checks": Mistake(
        # 0 / 0 raises ZeroDivisionError; a length mismatch fails to broadcast.
        cells={
            "accuracy": """
def accuracy(scores, labels):
    return int((scores.argmax(dim=1) == labels).sum()) / len(labels)
"""
        },
        fails={"accuracy_invalid_input"},
        says=("ValueError を送出してください", "ZeroDivisionError"),
    ),
    "accuracy_checks_emptiness_only": Mistake(
        cells={
            "accuracy": """
def accuracy(scores, labels):
    if len(labels) == 0:
        raise ValueError("空の labels では正解率が定まりません")
    return int((scores.argmax(dim=1) == labels).sum()) / len(labels)
"""
        },
        fails={"accuracy_invalid_input"},
        says="行数が違う のとき ValueError を送出してください",
    ),
}

ALTERNATIVES = {
    "one_hot_by_eye_rows": {
        "one_hot": one_hot_with("    return torch.eye(num_classes)[labels.long()]\n"),
    },
    "one_hot_by_scatter": {
        "one_hot": one_hot_with(
            "    encoded = torch.zeros(len(labels), num_classes)\n"
            "    return encoded.scatter_(1, labels.long()[:, None], 1.0)\n"
        ),
    },
    "one_hot_by_comparison_with_arange": {
        "one_hot": one_hot_with(
            "    return (labels[:, None] == torch.arange(num_classes)).float()\n"
        ),
    },
    "softmax_by_logsumexp": {
        "softmax": softmax_returning("torch.exp(z - torch.logsumexp(z, dim=dim, keepdim=True))"),
    },
    "softmax_by_max_values": {
        "softmax": """
def softmax(z, dim=-1):
    e = (z - z.max(dim=dim, keepdim=True).values).exp()
    return e / e.sum(dim=dim, keepdim=True)
""",
    },
    "accuracy_by_mean_of_hits": {
        "accuracy": accuracy_with(
            "    return (scores.argmax(dim=1) == labels).float().mean().item()\n"
        ),
    },
}
