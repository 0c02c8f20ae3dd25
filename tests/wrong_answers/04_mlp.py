"""Plausible mistakes in chapter 04's exercises, and the graded cells that must catch them."""

from harness import Mistake

MLP_ALL_CELLS = {
    "mlp_layers",
    "mlp_no_hidden_layers",
    "mlp_fresh_activations",
    "mlp_forward_values",
    "mlp_forward_reshapes",
}

MISTAKES = {
    "relu_in_place": Mistake(
        cells={"relu": "def relu(x):\n    return x.relu_()\n"},
        fails={"relu_keeps_input"},
    ),
    "relu_masked_assignment_on_input": Mistake(
        cells={
            "relu": """
def relu(x):
    x[x < 0] = 0.0
    return x
"""
        },
        fails={"relu_keeps_input"},
    ),
    "relu_returns_the_step_function": Mistake(
        cells={"relu": "def relu(x):\n    return (x > 0).to(x.dtype)\n"},
        fails={"relu_values", "relu_keeps_input"},
    ),
    "relu_always_float32": Mistake(
        cells={"relu": "def relu(x):\n    return torch.where(x > 0, x, 0.0).float()\n"},
        fails={"relu_values"},
    ),
    "leaky_relu_with_maximum": Mistake(
        cells={
            "leaky_relu": """
def leaky_relu(x, negative_slope=0.01):
    return torch.maximum(x, negative_slope * x)
"""
        },
        fails={"leaky_relu_any_slope"},
    ),
    "leaky_relu_ignores_slope_argument": Mistake(
        cells={
            "leaky_relu": """
def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, 0.01 * x)
"""
        },
        fails={"leaky_relu_any_slope", "leaky_relu_keeps_input"},
    ),
    "leaky_relu_in_place": Mistake(
        cells={
            "leaky_relu": """
def leaky_relu(x, negative_slope=0.01):
    x[x < 0] *= negative_slope
    return x
"""
        },
        fails={"leaky_relu_keeps_input"},
    ),
    "leaky_relu_wrong_sign_of_negative_part": Mistake(
        cells={
            "leaky_relu": """
def leaky_relu(x, negative_slope=0.01):
    return torch.clamp(x, min=0) - negative_slope * torch.clamp(x, max=0)
"""
        },
        fails={"leaky_relu_values", "leaky_relu_any_slope", "leaky_relu_keeps_input"},
    ),
    "mlp_reuses_one_activation_module": Mistake(
        cells={
            "MLP": """
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        act = activation()
        layers = []
        width = input_feature_num
        for hidden in hidden_unit_nums:
            layers += [nn.Linear(width, hidden), act]
            width = hidden
        layers.append(nn.Linear(width, output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x.reshape(-1, self.input_feature_num))
"""
        },
        fails={"mlp_fresh_activations"},
    ),
    "mlp_activation_after_output_layer": Mistake(
        cells={
            "MLP": """
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        layers = []
        width = input_feature_num
        for hidden in [*hidden_unit_nums, output_feature_num]:
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x.reshape(-1, self.input_feature_num))
"""
        },
        fails={
            "mlp_layers",
            "mlp_no_hidden_layers",
            "mlp_fresh_activations",
            "mlp_forward_values",
        },
    ),
    "mlp_evals_the_activation_name": Mistake(
        cells={
            "MLP": """
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        layers = []
        width = input_feature_num
        for hidden in hidden_unit_nums:
            layers.append(nn.Linear(width, hidden))
            layers.append(eval("nn." + activation.__name__ + "()"))
            width = hidden
        layers.append(nn.Linear(width, output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x.reshape(-1, self.input_feature_num))
"""
        },
        fails={"mlp_layers", "mlp_fresh_activations", "mlp_forward_values"},
    ),
    "mlp_forward_without_reshape": Mistake(
        cells={
            "MLP": """
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        layers = []
        width = input_feature_num
        for hidden in hidden_unit_nums:
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        layers.append(nn.Linear(width, output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)
"""
        },
        fails={"mlp_forward_reshapes"},
    ),
    "mlp_flattens_from_dim_1": Mistake(
        cells={
            "MLP": """
class MLP(nn.Module):
    def __init__(self, activation, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        layers = []
        width = input_feature_num
        for hidden in hidden_unit_nums:
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        layers.append(nn.Linear(width, output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(torch.flatten(x, start_dim=1))
"""
        },
        fails={"mlp_forward_reshapes"},
    ),
    "autoencoder_encode_without_sigmoid": Mistake(
        cells={
            "AutoEncoder": """
class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_latent):
        super().__init__()
        self.encoder = nn.Linear(n_input, n_latent)
        self.decoder = nn.Linear(n_latent, n_input)

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encode(x))
"""
        },
        fails={"autoencoder_encode", "autoencoder_forward"},
    ),
    "autoencoder_sigmoid_on_reconstruction": Mistake(
        cells={
            "AutoEncoder": """
class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_latent):
        super().__init__()
        self.encoder = nn.Linear(n_input, n_latent)
        self.decoder = nn.Linear(n_latent, n_input)

    def encode(self, x):
        return torch.sigmoid(self.encoder(x))

    def forward(self, x):
        return torch.sigmoid(self.decoder(self.encode(x)))
"""
        },
        fails={"autoencoder_forward"},
    ),
    "autoencoder_forward_skips_the_sigmoid": Mistake(
        cells={
            "AutoEncoder": """
class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_latent):
        super().__init__()
        self.encoder = nn.Linear(n_input, n_latent)
        self.decoder = nn.Linear(n_latent, n_input)

    def encode(self, x):
        return torch.sigmoid(self.encoder(x))

    def forward(self, x):
        return self.decoder(self.encoder(x))
"""
        },
        fails={"autoencoder_forward"},
    ),
    "autoencoder_relu_code": Mistake(
        cells={
            "AutoEncoder": """
class AutoEncoder(nn.Module):
    def __init__(self, n_input, n_latent):
        super().__init__()
        self.encoder = nn.Linear(n_input, n_latent)
        self.decoder = nn.Linear(n_latent, n_input)

    def encode(self, x):
        return torch.relu(self.encoder(x))

    def forward(self, x):
        return self.decoder(self.encode(x))
"""
        },
        fails={"autoencoder_encode", "autoencoder_forward"},
    ),
    "count_parameters_includes_frozen": Mistake(
        cells={
            "count_parameters": """
def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
"""
        },
        fails={"count_parameters_trainable_only"},
    ),
    "count_parameters_counts_tensors": Mistake(
        cells={
            "count_parameters": """
def count_parameters(model):
    return len([p for p in model.parameters() if p.requires_grad])
"""
        },
        fails={"count_parameters_values", "count_parameters_trainable_only"},
    ),
    "count_parameters_from_state_dict": Mistake(
        cells={
            "count_parameters": """
def count_parameters(model):
    return sum(v.numel() for v in model.state_dict().values())
"""
        },
        fails={"count_parameters_values", "count_parameters_trainable_only"},
    ),
    "count_parameters_returns_a_tensor": Mistake(
        cells={
            "count_parameters": """
def count_parameters(model):
    sizes = [torch.tensor(p.numel()) for p in model.parameters() if p.requires_grad]
    return torch.stack(sizes).sum()
"""
        },
        fails={"count_parameters_values", "count_parameters_trainable_only"},
    ),
}
