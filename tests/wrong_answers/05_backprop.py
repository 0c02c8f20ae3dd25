"""Plausible mistakes in chapter 05's exercises, and the graded cells that must catch them."""

from harness import Mistake

# A correct hand-written trainer for the digits, used by the fixtures of train_digits_mlp
# that differ from it in one respect only. Formatted with TRAINER.format(**options).
TRAINER = """
def train_digits_mlp(X_train, y_train, seed):
    torch.manual_seed(seed)
    W1 = torch.randn(48, 64) * (2 / 64) ** 0.5
    b1 = torch.zeros(48)
    W2 = torch.randn(10, 48) * (2 / 48) ** 0.5
    b2 = torch.zeros(10)
    Y = F.one_hot(y_train, 10).float()
    for epoch in range({epochs}):
        perm = torch.randperm(len(X_train))
        for i in range(0, len(X_train), 32):
            idx = perm[i : i + 32]
            X, T = X_train[idx], Y[idx]
            Z1 = X @ W1.T + b1
            A1 = torch.relu(Z1)
            Z2 = A1 @ W2.T + b2
            G2 = (torch.softmax(Z2, dim=1) - T) / len(idx)
            G1 = (G2 @ W2) * (Z1 > 0)
            W2 = W2 - {lr} * (G2.T @ A1)
            b2 = b2 - {lr} * G2.sum(dim=0)
            W1 = W1 - {lr} * (G1.T @ X)
            b1 = b1 - {lr} * G1.sum(dim=0)

    def predict(X):
        return (torch.relu(X @ W1.T + b1) @ W2.T + b2).argmax(dim=1){convert}

    return predict
"""


def forbidden(body):
    """A softmax_cross_entropy that calls one forbidden built-in (the line ``body``)."""
    return f"""
def softmax_cross_entropy(Z, Y):
    probs = torch.softmax(Z, dim=1)
{body}
    return loss, probs
"""


MISTAKES = {
    # --- 5.1 linear_backward
    "linear_backward_bias_mean_over_batch": Mistake(
        cells={
            "linear_backward": """
def linear_backward(grad_Z, X, W):
    return grad_Z @ W, grad_Z.T @ X, grad_Z.mean(dim=0)
"""
        },
        fails={"linear_backward_values"},
        says="和のところで平均",
    ),
    "linear_backward_grad_W_transposed": Mistake(
        cells={
            "linear_backward": """
def linear_backward(grad_Z, X, W):
    return grad_Z @ W, X.T @ grad_Z, grad_Z.sum(dim=0)
"""
        },
        fails={"linear_backward_shapes", "linear_backward_values"},
        says="転置",
    ),
    "linear_backward_grad_b_not_summed": Mistake(
        cells={
            "linear_backward": """
def linear_backward(grad_Z, X, W):
    return grad_Z @ W, grad_Z.T @ X, grad_Z
"""
        },
        fails={"linear_backward_shapes", "linear_backward_values"},
        says="バッチ方向 (dim=0) に足し合わせて",
    ),
    # --- 5.2 relu_backward
    "relu_backward_passes_at_zero": Mistake(
        cells={
            "relu_backward": """
def relu_backward(grad_A, Z):
    return grad_A * (Z >= 0).float()
"""
        },
        fails={"relu_backward_at_zero"},
        says="ちょうど 0 の位置だけ",
    ),
    "relu_backward_mask_from_upstream_gradient": Mistake(
        cells={
            "relu_backward": """
def relu_backward(grad_A, Z):
    return grad_A.clamp(min=0)
"""
        },
        fails={"relu_backward_values", "relu_backward_at_zero"},
        says="上流の勾配 grad_A ではなく",
    ),
    "relu_backward_overwrites_grad_A": Mistake(
        cells={
            "relu_backward": """
def relu_backward(grad_A, Z):
    grad_A[Z <= 0] = 0
    return grad_A
"""
        },
        fails={"relu_backward_at_zero"},
        says="grad_A の値が書き換えられました",
    ),
    # --- 5.3 softmax_cross_entropy
    "softmax_cross_entropy_epsilon_inside_log": Mistake(
        cells={
            "softmax_cross_entropy": """
def softmax_cross_entropy(Z, Y):
    e = torch.exp(Z - Z.max(dim=-1, keepdim=True).values)
    probs = e / (e.sum(dim=-1, keepdim=True) + 1e-10)
    loss = -torch.sum(Y * torch.log(probs + 1e-10)) / Y.shape[0]
    return loss, probs
"""
        },
        fails={"softmax_cross_entropy_large_logits"},
        says="eps でクリップしていませんか",
    ),
    "softmax_cross_entropy_without_max_subtraction": Mistake(
        cells={
            "softmax_cross_entropy": """
def softmax_cross_entropy(Z, Y):
    e = torch.exp(Z)
    probs = e / e.sum(dim=1, keepdim=True)
    loss = -(Y * torch.log(probs)).sum(dim=1).mean()
    return loss, probs
"""
        },
        fails={"softmax_cross_entropy_large_logits"},
        says="Z − logsumexp(Z) で log softmax",
    ),
    "softmax_cross_entropy_unshifted_logsumexp": Mistake(
        cells={
            "softmax_cross_entropy": """
def softmax_cross_entropy(Z, Y):
    log_probs = Z - torch.log(torch.exp(Z).sum(dim=1, keepdim=True))
    return -(Y * log_probs).sum(dim=1).mean(), torch.exp(log_probs)
"""
        },
        fails={"softmax_cross_entropy_large_logits"},
        says="最大値を引いてから exp",
    ),
    "softmax_cross_entropy_sum_over_the_batch": Mistake(
        cells={
            "softmax_cross_entropy": """
def softmax_cross_entropy(Z, Y):
    log_probs = Z - torch.logsumexp(Z, dim=1, keepdim=True)
    return -(Y * log_probs).sum(), log_probs.exp()
"""
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="平均のところで和",
    ),
    "softmax_cross_entropy_uses_F_cross_entropy": Mistake(
        cells={
            "softmax_cross_entropy": forbidden("    loss = F.cross_entropy(Z, Y.argmax(dim=1))")
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="F.cross_entropy を使わずに実装",
    ),
    "softmax_cross_entropy_uses_torch_log_softmax": Mistake(
        cells={
            "softmax_cross_entropy": forbidden(
                "    loss = -(Y * torch.log_softmax(Z, dim=1)).sum(dim=1).mean()"
            )
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="torch.log_softmax を使わずに実装",
    ),
    "softmax_cross_entropy_uses_F_log_softmax": Mistake(
        cells={
            "softmax_cross_entropy": forbidden(
                "    loss = -(Y * F.log_softmax(Z, dim=1)).sum(dim=1).mean()"
            )
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="F.log_softmax を使わずに実装",
    ),
    "softmax_cross_entropy_uses_nn_CrossEntropyLoss": Mistake(
        cells={
            "softmax_cross_entropy": forbidden(
                "    loss = torch.nn.CrossEntropyLoss()(Z, Y.argmax(dim=1))"
            )
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="nn.CrossEntropyLoss を使わずに実装",
    ),
    "softmax_cross_entropy_uses_the_log_softmax_method": Mistake(
        cells={
            "softmax_cross_entropy": forbidden(
                "    loss = -(Y * Z.log_softmax(dim=1)).sum(dim=1).mean()"
            )
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="torch.Tensor.log_softmax を使わずに実装",
    ),
    "softmax_cross_entropy_uses_torch_special_log_softmax": Mistake(
        cells={
            "softmax_cross_entropy": forbidden(
                "    loss = -(Y * torch.special.log_softmax(Z, dim=1)).sum(dim=1).mean()"
            )
        },
        fails={"softmax_cross_entropy_values", "softmax_cross_entropy_large_logits"},
        says="torch.special.log_softmax を使わずに実装",
    ),
    # --- 5.4 softmax_cross_entropy_backward
    "softmax_cross_entropy_backward_forgets_batch_size": Mistake(
        cells={
            "softmax_cross_entropy_backward": """
def softmax_cross_entropy_backward(probs, Y):
    return probs - Y
"""
        },
        fails={
            "softmax_cross_entropy_backward_values",
            "softmax_cross_entropy_backward_matches_autograd",
        },
        says="割り忘れ",
    ),
    "softmax_cross_entropy_backward_divides_by_classes": Mistake(
        cells={
            "softmax_cross_entropy_backward": """
def softmax_cross_entropy_backward(probs, Y):
    return (probs - Y) / probs.shape[1]
"""
        },
        fails={
            "softmax_cross_entropy_backward_values",
            "softmax_cross_entropy_backward_matches_autograd",
        },
        says="バッチの大きさ N = 2 で割って",
    ),
    "softmax_cross_entropy_backward_overwrites_probs": Mistake(
        cells={
            "softmax_cross_entropy_backward": """
def softmax_cross_entropy_backward(probs, Y):
    probs -= Y
    probs /= len(probs)
    return probs
"""
        },
        fails={"softmax_cross_entropy_backward_matches_autograd"},
        says="probs の値が書き換えられました",
    ),
    # --- 5.5 numerical_gradient
    "numerical_gradient_restores_by_subtraction": Mistake(
        cells={
            "numerical_gradient": """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat, flat_grad = x.view(-1), grad.view(-1)
    for i in range(x.numel()):
        flat[i] += eps
        f_plus = f(x)
        flat[i] -= 2 * eps
        f_minus = f(x)
        flat[i] += eps
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
"""
        },
        fails={"numerical_gradient_restores_x"},
        says="引き算で戻すと丸め誤差",
    ),
    "numerical_gradient_forgets_to_restore": Mistake(
        cells={
            "numerical_gradient": """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat, flat_grad = x.view(-1), grad.view(-1)
    for i in range(x.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        f_plus = f(x)
        flat[i] = original - eps
        f_minus = f(x)
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
"""
        },
        fails={"numerical_gradient_restores_x"},
        says="書き換えられたまま戻っていません",
    ),
    "numerical_gradient_forward_difference": Mistake(
        cells={
            "numerical_gradient": """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    f_x = f(x)
    for i in range(x.numel()):
        shifted = x.clone()
        shifted.view(-1)[i] += eps
        grad.view(-1)[i] = (f(shifted) - f_x) / eps
    return grad
"""
        },
        fails={"numerical_gradient_values"},
        says="前進差分",
    ),
    "numerical_gradient_flattens_x_for_f": Mistake(
        cells={
            "numerical_gradient": """
def numerical_gradient(f, x, eps=1e-6):
    flat = x.reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        grad[i] = (f(flat + step) - f(flat - step)) / (2 * eps)
    return grad.reshape(x.shape)
"""
        },
        fails={"numerical_gradient_any_shape"},
        says="同じ形 (2, 3) のテンソルを渡していますか",
    ),
    # --- 5.6 numpy_two_layer_step
    "numpy_two_layer_step_forgets_factor_2": Mistake(
        cells={
            "numpy_two_layer_step": """
def numpy_two_layer_step(x, y, w1, w2, learning_rate):
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    grad_y_pred = y_pred - y
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h = grad_y_pred.dot(w2.T) * (h > 0)
    grad_w1 = x.T.dot(grad_h)
    return loss, w1 - learning_rate * grad_w1, w2 - learning_rate * grad_w2
"""
        },
        fails={"numpy_two_layer_step_example", "numpy_two_layer_step_matches_autograd"},
        says="係数 2 の付け忘れ",
    ),
    "numpy_two_layer_step_missing_transpose": Mistake(
        cells={
            "numpy_two_layer_step": """
def numpy_two_layer_step(x, y, w1, w2, learning_rate):
    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = h_relu @ w2
    loss = ((y_pred - y) ** 2).sum()
    grad_y_pred = 2 * (y_pred - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = (grad_y_pred @ w2.T) * (h > 0)
    grad_w1 = grad_h.T @ x
    return loss, w1 - learning_rate * grad_w1, w2 - learning_rate * grad_w2
"""
        },
        fails={
            "numpy_two_layer_step_example",
            "numpy_two_layer_step_matches_autograd",
            "numpy_two_layer_step_inputs_untouched",
        },
        says="dL/dw1 = x.T @ grad_h",
    ),
    "numpy_two_layer_step_mutates_weights": Mistake(
        cells={
            "numpy_two_layer_step": """
def numpy_two_layer_step(x, y, w1, w2, learning_rate):
    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = h_relu @ w2
    loss = ((y_pred - y) ** 2).sum()
    grad_y_pred = 2 * (y_pred - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = (grad_y_pred @ w2.T) * (h > 0)
    grad_w1 = x.T @ grad_h
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
    return loss, w1, w2
"""
        },
        fails={"numpy_two_layer_step_inputs_untouched"},
        says="引数 w1 が書き換えられました",
    ),
    "numpy_two_layer_step_relu_derivative_1_at_zero": Mistake(
        cells={
            "numpy_two_layer_step": """
def numpy_two_layer_step(x, y, w1, w2, learning_rate):
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h = grad_y_pred.dot(w2.T)
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    return loss, w1 - learning_rate * grad_w1, w2 - learning_rate * grad_w2
"""
        },
        fails={"numpy_two_layer_step_example", "numpy_two_layer_step_matches_autograd"},
        says="h == 0 のところでも",
    ),
    # --- 5.7 train_digits_mlp
    "train_digits_mlp_uses_autograd": Mistake(
        cells={
            "train_digits_mlp": """
def train_digits_mlp(X_train, y_train, seed):
    torch.manual_seed(seed)
    W1 = (torch.randn(48, 64) * (2 / 64) ** 0.5).requires_grad_(True)
    b1 = torch.zeros(48, requires_grad=True)
    W2 = (torch.randn(10, 48) * (2 / 48) ** 0.5).requires_grad_(True)
    b2 = torch.zeros(10, requires_grad=True)
    params = [W1, b1, W2, b2]
    for epoch in range(10):
        perm = torch.randperm(len(X_train))
        for i in range(0, len(X_train), 32):
            idx = perm[i : i + 32]
            logits = torch.relu(X_train[idx] @ W1.T + b1) @ W2.T + b2
            loss = F.cross_entropy(logits, y_train[idx])
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
                    p.grad = None

    def predict(X):
        with torch.no_grad():
            return (torch.relu(X @ W1.T + b1) @ W2.T + b2).argmax(dim=1)

    return predict
"""
        },
        fails={"train_digits_mlp_from_scratch"},
        says="autograd (backward) を使っていませんか",
    ),
    "train_digits_mlp_uses_torch_optim": Mistake(
        cells={
            "train_digits_mlp": """
def train_digits_mlp(X_train, y_train, seed):
    torch.manual_seed(seed)
    W1 = torch.randn(48, 64) * (2 / 64) ** 0.5
    b1 = torch.zeros(48)
    W2 = torch.randn(10, 48) * (2 / 48) ** 0.5
    b2 = torch.zeros(10)
    optimizer = torch.optim.SGD([W1, b1, W2, b2], lr=0.1)
    Y = F.one_hot(y_train, 10).float()
    for epoch in range(10):
        perm = torch.randperm(len(X_train))
        for i in range(0, len(X_train), 32):
            idx = perm[i : i + 32]
            X, T = X_train[idx], Y[idx]
            Z1 = X @ W1.T + b1
            A1 = torch.relu(Z1)
            G2 = (torch.softmax(A1 @ W2.T + b2, dim=1) - T) / len(idx)
            G1 = (G2 @ W2) * (Z1 > 0)
            W2.grad, b2.grad = G2.T @ A1, G2.sum(dim=0)
            W1.grad, b1.grad = G1.T @ X, G1.sum(dim=0)
            optimizer.step()

    def predict(X):
        return (torch.relu(X @ W1.T + b1) @ W2.T + b2).argmax(dim=1)

    return predict
"""
        },
        fails={"train_digits_mlp_from_scratch"},
        says="torch.optim の最適化手法",
    ),
    "train_digits_mlp_undertrained": Mistake(
        cells={"train_digits_mlp": TRAINER.format(epochs=1, lr=0.001, convert="")},
        fails={"train_digits_mlp_accuracy", "train_digits_mlp_from_scratch"},
        says="0.90 以上が必要",
    ),
}
