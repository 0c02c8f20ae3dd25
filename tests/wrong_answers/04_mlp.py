"""Plausible mistakes in chapter 04's exercises, the graded cells that must catch them, and
the words their feedback must contain."""

from harness import Mistake

RELU_CELLS = {"relu_values", "relu_keeps_input"}
LEAKY_CELLS = {"leaky_relu_values", "leaky_relu_any_slope", "leaky_relu_keeps_input"}
COUNT_CELLS = {"count_parameters_values", "count_parameters_trainable_only"}


def mlp_class(init_body: str, forward_body: str) -> str:
    """Source of an MLP class with the given __init__ and forward bodies (indented 8 spaces)."""
    return f"""
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
{init_body}

    def forward(self, x):
{forward_body}
"""


GOOD_INIT = """        self.input_feature_num = input_feature_num
        layers = []
        width = input_feature_num
        for hidden in hidden_unit_nums:
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        layers.append(nn.Linear(width, output_feature_num))
        self.mlp = nn.Sequential(*layers)"""
GOOD_FORWARD = "        return self.mlp(x.reshape(-1, self.input_feature_num))"


def autoencoder_class(encode: str, forward: str, init: str = "") -> str:
    """Source of an AutoEncoder class with the given encode and forward return expressions."""
    init = init or (
        "        self.encoder = nn.Linear(n_input, n_latent)\n"
        "        self.decoder = nn.Linear(n_latent, n_input)"
    )
    return f"""
class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_latent):
        super().__init__()
{init}

    def encode(self, x):
        return {encode}

    def forward(self, x):
        return {forward}
"""


def count_parameters(body: str) -> str:
    return f"def count_parameters(model):\n    return {body}\n"


MISTAKES = {
    # 4.1 relu
    "relu_in_place": Mistake(
        cells={"relu": "def relu(x):\n    return x.clamp_(min=0.0)\n"},
        fails={"relu_keeps_input"},
        says=("書き換えられました",),
    ),
    "relu_with_torch_relu": Mistake(
        cells={"relu": "def relu(x):\n    return torch.relu(x)\n"},
        fails=RELU_CELLS,
        says=("演習 4.1 では torch.relu を使わずに",),
    ),
    "relu_with_F_relu": Mistake(
        cells={"relu": "def relu(x):\n    return F.relu(x)\n"},
        fails=RELU_CELLS,
        says=("F.relu を使わずに",),
    ),
    "relu_with_nn_ReLU": Mistake(
        cells={"relu": "def relu(x):\n    return nn.ReLU()(x)\n"},
        fails=RELU_CELLS,
        says=("nn.ReLU を使わずに",),
    ),
    "relu_with_the_tensor_method": Mistake(
        cells={"relu": "def relu(x):\n    return x.relu()\n"},
        fails=RELU_CELLS,
        says=("torch.Tensor.relu を使わずに",),
    ),
    # 4.2 leaky_relu
    "leaky_relu_with_maximum": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    return torch.maximum(x, negative_slope * x)\n"
            )
        },
        fails={"leaky_relu_any_slope"},
        says=("max(x, negative_slope * x)", "a > 1"),
    ),
    "leaky_relu_with_F_leaky_relu": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    return F.leaky_relu(x, negative_slope)\n"
            )
        },
        fails=LEAKY_CELLS,
        says=("演習 4.2 では F.leaky_relu を使わずに",),
    ),
    "leaky_relu_with_nn_LeakyReLU": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    return nn.LeakyReLU(negative_slope)(x)\n"
            )
        },
        fails=LEAKY_CELLS,
        says=("nn.LeakyReLU を使わずに",),
    ),
    # 4.3 MLP
    "mlp_reuses_one_activation_module": Mistake(
        cells={
            "MLP": mlp_class(
                GOOD_INIT.replace(
                    "        layers = []", "        act = activation()\n        layers = []"
                ).replace("activation()]", "act]"),
                GOOD_FORWARD,
            )
        },
        fails={"mlp_fresh_activations"},
        says=("使い回",),
    ),
    "mlp_activation_after_output_layer": Mistake(
        cells={
            "MLP": mlp_class(
                """        self.input_feature_num = input_feature_num
        layers = []
        width = input_feature_num
        for hidden in [*hidden_unit_nums, output_feature_num]:
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        self.mlp = nn.Sequential(*layers)""",
                GOOD_FORWARD,
            )
        },
        fails={"mlp_layers", "mlp_no_hidden_layers", "mlp_fresh_activations", "mlp_forward_values"},
        says=("出力層 (最後の Linear) の後には活性化関数を付けません",),
    ),
    "mlp_forward_without_reshape": Mistake(
        cells={"MLP": mlp_class(GOOD_INIT, "        return self.mlp(x)")},
        fails={"mlp_forward_reshapes"},
        says=("x.reshape(-1, input_feature_num) していますか",),
    ),
    "mlp_forward_with_view": Mistake(
        cells={
            "MLP": mlp_class(
                GOOD_INIT, "        return self.mlp(x.view(-1, self.input_feature_num))"
            )
        },
        fails={"mlp_forward_reshapes"},
        says=("view は連続でない入力で失敗します",),
    ),
    # 4.4 AutoEncoder
    "autoencoder_encode_without_sigmoid": Mistake(
        cells={"AutoEncoder": autoencoder_class("self.encoder(x)", "self.decoder(self.encode(x))")},
        fails={"autoencoder_encode", "autoencoder_forward"},
        says=("シグモイド (torch.sigmoid) を通していますか", "encode を先に直してください"),
    ),
    "autoencoder_sigmoid_on_reconstruction": Mistake(
        cells={
            "AutoEncoder": autoencoder_class(
                "torch.sigmoid(self.encoder(x))", "torch.sigmoid(self.decoder(self.encode(x)))"
            )
        },
        fails={"autoencoder_forward"},
        says=("復元 (decoder の出力) にはシグモイドを付けません",),
    ),
    "autoencoder_forward_skips_the_sigmoid": Mistake(
        cells={
            "AutoEncoder": autoencoder_class(
                "torch.sigmoid(self.encoder(x))", "self.decoder(self.encoder(x))"
            )
        },
        fails={"autoencoder_forward"},
        says=("decoder(encoder(x)) になっています",),
    ),
    # 4.5 count_parameters
    "count_parameters_includes_frozen": Mistake(
        cells={"count_parameters": count_parameters("sum(p.numel() for p in model.parameters())")},
        fails={"count_parameters_trainable_only"},
        says=("凍結した (requires_grad=False の) パラメータも数えています",),
    ),
    "count_parameters_counts_tensors": Mistake(
        cells={
            "count_parameters": count_parameters(
                "len([p for p in model.parameters() if p.requires_grad])"
            )
        },
        fails=COUNT_CELLS,
        says=("numel()",),
    ),
    "count_parameters_from_state_dict": Mistake(
        cells={
            "count_parameters": count_parameters(
                "sum(v.numel() for v in model.state_dict().values())"
            )
        },
        fails=COUNT_CELLS,
        says=("バッファ (running_mean など) も数えています",),
    ),
}

# More usual mistakes, caught and named by the same cells (checked by running the graded cells
# in-process with MISTAKES | MORE_MISTAKES). They are left out of the nbgrader round trip only
# to keep its single `nbgrader autograde` under the harness's 900 s on a busy machine.
MORE_MISTAKES = {
    "relu_masked_assignment_on_input": Mistake(
        cells={"relu": "def relu(x):\n    x[x < 0] = 0.0\n    return x\n"},
        fails={"relu_keeps_input"},
        says=("書き換えられました",),
    ),
    "relu_returns_the_step_function": Mistake(
        cells={"relu": "def relu(x):\n    return (x > 0).to(x.dtype)\n"},
        fails=RELU_CELLS,
        says=("階段関数",),
    ),
    "relu_always_float32": Mistake(
        cells={"relu": "def relu(x):\n    return torch.where(x > 0, x, 0.0).float()\n"},
        fails={"relu_values"},
        says=("入力と同じ dtype",),
    ),
    "leaky_relu_ignores_slope_argument": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    return torch.where(x > 0, x, 0.01 * x)\n"
            )
        },
        fails={"leaky_relu_any_slope", "leaky_relu_keeps_input"},
        says=("0.01 のまま",),
    ),
    "leaky_relu_in_place": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    x[x < 0] *= negative_slope\n"
                "    return x\n"
            )
        },
        fails={"leaky_relu_keeps_input"},
        says=("書き換えられました",),
    ),
    "leaky_relu_wrong_sign_of_negative_part": Mistake(
        cells={
            "leaky_relu": (
                "def leaky_relu(x, negative_slope=0.01):\n"
                "    return torch.clamp(x, min=0) - negative_slope * torch.clamp(x, max=0)\n"
            )
        },
        fails=LEAKY_CELLS,
        says=("符号が逆",),
    ),
    "mlp_evals_the_activation_name": Mistake(
        cells={
            "MLP": mlp_class(
                GOOD_INIT.replace("activation()]", 'eval("nn." + activation.__name__ + "()")]'),
                GOOD_FORWARD,
            )
        },
        fails={"mlp_layers", "mlp_fresh_activations", "mlp_forward_values"},
        says=("層ごとに activation() を呼んでいますか",),
    ),
    "mlp_flattens_from_dim_1": Mistake(
        cells={
            "MLP": mlp_class(GOOD_INIT, "        return self.mlp(torch.flatten(x, start_dim=1))")
        },
        fails={"mlp_forward_reshapes"},
        says=("x.reshape(-1, input_feature_num) していますか",),
    ),
    "autoencoder_relu_code": Mistake(
        cells={
            "AutoEncoder": autoencoder_class(
                "torch.relu(self.encoder(x))", "self.decoder(self.encode(x))"
            )
        },
        fails={"autoencoder_encode", "autoencoder_forward"},
        says=("ReLU を通した値です", "encode を先に直してください"),
    ),
    "autoencoder_swaps_encoder_and_decoder": Mistake(
        cells={
            "AutoEncoder": autoencoder_class(
                "torch.sigmoid(self.encoder(x))",
                "self.decoder(self.encode(x))",
                init=(
                    "        self.encoder = nn.Linear(n_latent, n_input)\n"
                    "        self.decoder = nn.Linear(n_input, n_latent)"
                ),
            )
        },
        fails={"autoencoder_layers", "autoencoder_encode", "autoencoder_forward"},
        says=("向きが逆です",),
    ),
    "count_parameters_returns_a_tensor": Mistake(
        cells={
            "count_parameters": """
def count_parameters(model):
    sizes = [torch.tensor(p.numel()) for p in model.parameters() if p.requires_grad]
    return torch.stack(sizes).sum()
"""
        },
        fails=COUNT_CELLS,
        says=("Tensor が返りました",),
    ),
    "count_parameters_over_every_submodule": Mistake(
        cells={
            "count_parameters": count_parameters(
                "sum(p.numel() for m in model.modules() for p in m.parameters() if p.requires_grad)"
            )
        },
        fails=COUNT_CELLS,
        says=("入れ子のモジュール",),
    ),
}
