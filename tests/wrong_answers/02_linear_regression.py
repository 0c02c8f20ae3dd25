"""Plausible mistakes in chapter 02's exercises, and the graded cells that must catch them."""

from harness import Mistake

# The shape check and the SS_tot = 0 check that the statement asks for, shared by the
# r2_score fixtures whose mistake lies elsewhere (so that each fails only its own cells).
R2_CHECKS = """
    if y_pred.shape != y_true.shape:
        raise ValueError(f"形が違います: {tuple(y_pred.shape)} と {tuple(y_true.shape)}")
    if bool((y_true == y_true.flatten()[0]).all()):
        raise ValueError("y_true がすべて等しいので R² は定義できません")
"""

TRAIN_LOOP = """
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
"""

MISTAKES = {
    "split_odd_even_even_rows_train": Mistake(
        # 奇数番目 read as "1st, 3rd, ..." (index 0, 2, ...), as the Japanese wording invites.
        cells={
            "split_odd_even": """
def split_odd_even(X, Y):
    return X[0::2], X[1::2], Y[0::2], Y[1::2]
"""
        },
        fails={"split_odd_even_numpy", "split_odd_even_tensors"},
        says=("奇数番目",),
    ),
    "split_odd_even_returns_train_pairs_first": Mistake(
        # (X_train, Y_train, X_test, Y_test): the order of the seed's variables.
        cells={
            "split_odd_even": """
def split_odd_even(X, Y):
    return X[1::2], Y[1::2], X[0::2], Y[0::2]
"""
        },
        fails={"split_odd_even_numpy", "split_odd_even_tensors"},
        says=("順番",),
    ),
    "split_odd_even_converts_to_numpy": Mistake(
        cells={
            "split_odd_even": """
def split_odd_even(X, Y):
    X, Y = np.asarray(X), np.asarray(Y)
    return X[1::2], X[0::2], Y[1::2], Y[0::2]
"""
        },
        fails={"split_odd_even_tensors"},
        says=("torch.Tensor",),
    ),
    "split_odd_even_seed_mask_needs_2d_y": Mistake(
        # The seed's boolean mask with Y[mask, :] only works for a 2-D Y.
        cells={
            "split_odd_even": """
def split_odd_even(X, Y):
    index = np.arange(len(X))
    train, test = index[index % 2 != 0], index[index % 2 == 0]
    return X[train, :], X[test, :], Y[train, :], Y[test, :]
"""
        },
        fails={"split_odd_even_numpy", "split_odd_even_tensors"},
        says=("1 次元",),
    ),
    "linear_regression_seed_attribute_name": Mistake(
        cells={
            "LinearRegression": """
class LinearRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)
"""
        },
        fails={"linear_regression_structure", "linear_regression_forward"},
        says=("self.linear",),
    ),
    "linear_regression_with_sigmoid": Mistake(
        # A squashed output: the logistic-regression model of chapter 03.
        cells={
            "LinearRegression": """
class LinearRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))
"""
        },
        fails={"linear_regression_forward"},
        says=("sigmoid",),
    ),
    "linear_regression_input_output_swapped": Mistake(
        cells={
            "LinearRegression": """
class LinearRegression(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_output, n_input)

    def forward(self, x):
        return self.linear(x)
"""
        },
        fails={"linear_regression_structure", "linear_regression_forward"},
        says=("逆",),
    ),
    "train_one_epoch_sum_of_batch_means": Mistake(
        # The seed's bookkeeping: the epoch "loss" grows with the number of batches.
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total
"""
        },
        fails={"train_one_epoch_mean_loss"},
        says=("バッチ損失の和",),
    ),
    "train_one_epoch_mean_of_batch_means": Mistake(
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
"""
        },
        fails={"train_one_epoch_mean_loss"},
        says=("単純平均",),
    ),
    "train_one_epoch_divides_by_dataset_size": Mistake(
        # Wrong when the loader drops its last partial batch.
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return total / len(loader.dataset)
"""
        },
        fails={"train_one_epoch_mean_loss"},
        says=("学習に使ったサンプル数",),
    ),
    "train_one_epoch_without_zero_grad": Mistake(
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""
        },
        fails={"train_one_epoch_mean_loss", "train_one_epoch_updates_parameters"},
        says=("zero_grad",),
    ),
    "train_one_epoch_without_train_mode": Mistake(
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""
        },
        fails={"train_one_epoch_train_mode"},
        says=("model.train()",),
    ),
    "train_one_epoch_sets_only_the_training_flag": Mistake(
        # model.training = True does not reach the submodules; model.train() does.
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.training = True
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""
        },
        fails={"train_one_epoch_train_mode"},
        says=("model.train()",),
    ),
    "train_one_epoch_returns_a_tensor": Mistake(
        cells={
            "train_one_epoch": """
def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total = total + loss.detach() * len(x)
        count += len(x)
    return total / count
"""
        },
        fails={"train_one_epoch_mean_loss"},
        says=("float",),
    ),
    "least_squares_without_bias_column": Mistake(
        cells={
            "least_squares": """
def least_squares(X, Y):
    coef = torch.linalg.lstsq(X.double(), Y.double()).solution
    return coef.T.float(), torch.zeros(Y.shape[1])
"""
        },
        fails={"least_squares_exact_fit", "least_squares_matches_lstsq"},
        says=("1 の列",),
    ),
    "least_squares_weights_not_transposed": Mistake(
        cells={
            "least_squares": """
def least_squares(X, Y):
    A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    coef = torch.linalg.lstsq(A, Y.double()).solution
    return coef[:-1].float(), coef[-1].float()
"""
        },
        fails={"least_squares_exact_fit", "least_squares_matches_lstsq"},
        says=("転置",),
    ),
    "least_squares_returns_float64": Mistake(
        cells={
            "least_squares": """
def least_squares(X, Y):
    A = np.hstack([X.numpy(), np.ones((len(X), 1))])
    coef, *_ = np.linalg.lstsq(A, Y.numpy().astype(np.float64), rcond=None)
    return torch.from_numpy(coef[:-1].T.copy()), torch.from_numpy(coef[-1].copy())
"""
        },
        fails={"least_squares_exact_fit"},
        says=("float32",),
    ),
    "least_squares_weights_and_bias_mixed_up": Mistake(
        # Bias column appended last, but read back from the first row: a slope becomes b.
        cells={
            "least_squares": """
def least_squares(X, Y):
    A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    coef = torch.linalg.lstsq(A, Y.double()).solution
    return coef[1:].T.float(), coef[0].float()
"""
        },
        fails={"least_squares_exact_fit", "least_squares_matches_lstsq"},
        says=("W と b",),
    ),
    "least_squares_uses_scikit_learn": Mistake(
        # The page's built-in: correct numbers, but the exercise forbids it.
        cells={
            "least_squares": """
def least_squares(X, Y):
    from sklearn.linear_model import LinearRegression as Fit

    fit = Fit().fit(X.double().numpy(), Y.double().numpy())
    W = torch.tensor(fit.coef_, dtype=torch.float32)
    return W, torch.tensor(fit.intercept_, dtype=torch.float32)
"""
        },
        fails={"least_squares_exact_fit", "least_squares_matches_lstsq"},
        says=("LinearRegression を使わずに",),
    ),
    "r2_score_ss_tot_around_the_prediction": Mistake(
        # SS_tot around the mean of y_pred: the arguments' roles swapped.
        cells={
            "r2_score": """
def r2_score(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError(f"形が違います: {tuple(y_pred.shape)} と {tuple(y_true.shape)}")
    ss_res = ((y_pred - y_true) ** 2).sum()
    ss_tot = ((y_pred - y_pred.mean()) ** 2).sum()
    return float(1 - ss_res / ss_tot)
"""
        },
        fails={
            "r2_score_values",
            "r2_score_argument_order",
            "r2_score_all_elements",
            "r2_score_value_errors",
        },
        says=("y_pred の平均",),
    ),
    "r2_score_scikit_learn_per_column_average": Mistake(
        cells={
            "r2_score": f"""
def r2_score(y_pred, y_true):{R2_CHECKS}
    t = y_true.reshape(len(y_true), -1)
    p = y_pred.reshape(len(y_pred), -1)
    ss_res = ((t - p) ** 2).sum(dim=0)
    ss_tot = ((t - t.mean(dim=0)) ** 2).sum(dim=0)
    return float((1 - ss_res / ss_tot).mean())
"""
        },
        fails={"r2_score_all_elements"},
        says=("列ごと",),
    ),
    "r2_score_without_shape_check": Mistake(
        cells={
            "r2_score": """
def r2_score(y_pred, y_true):
    ss_tot = ((y_true - y_true.mean()) ** 2).sum()
    if ss_tot == 0:
        raise ValueError("SS_tot が 0 です")
    return float(1 - ((y_true - y_pred) ** 2).sum() / ss_tot)
"""
        },
        fails={"r2_score_value_errors"},
        says=("(3, 1) で y_true が (3,)", "ValueError"),
    ),
    "r2_score_without_constant_check": Mistake(
        # 1 - SS_res / 0 gives -inf (or nan) instead of an error.
        cells={
            "r2_score": """
def r2_score(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError(f"形が違います: {tuple(y_pred.shape)} と {tuple(y_true.shape)}")
    ss_tot = ((y_true - y_true.mean()) ** 2).sum()
    return float(1 - ((y_true - y_pred) ** 2).sum() / ss_tot)
"""
        },
        fails={"r2_score_value_errors"},
        says=("SS_tot = 0",),
    ),
    "r2_score_unbiased_variance": Mistake(
        # MSE over torch.var, which divides by N - 1.
        cells={
            "r2_score": f"""
def r2_score(y_pred, y_true):{R2_CHECKS}
    return float(1 - ((y_true - y_pred) ** 2).mean() / y_true.var())
"""
        },
        fails={"r2_score_values", "r2_score_argument_order", "r2_score_all_elements"},
        says=("N − 1",),
    ),
    "r2_score_centres_y_true_in_place": Mistake(
        cells={
            "r2_score": f"""
def r2_score(y_pred, y_true):{R2_CHECKS}
    ss_res = ((y_true - y_pred) ** 2).sum()
    y_true -= y_true.mean()
    return float(1 - ss_res / (y_true**2).sum())
"""
        },
        fails={"r2_score_values"},
        says=("書き換え",),
    ),
    "r2_score_returns_a_tensor": Mistake(
        cells={
            "r2_score": f"""
def r2_score(y_pred, y_true):{R2_CHECKS}
    return 1 - ((y_true - y_pred) ** 2).sum() / ((y_true - y_true.mean()) ** 2).sum()
"""
        },
        fails={"r2_score_values"},
        says=("float",),
    ),
    "r2_score_uses_scikit_learn": Mistake(
        # The page's built-in on the flattened values: right numbers, forbidden here.
        cells={
            "r2_score": f"""
def r2_score(y_pred, y_true):{R2_CHECKS}
    from sklearn.metrics import r2_score as sklearn_r2

    return float(sklearn_r2(y_true.flatten().numpy(), y_pred.flatten().numpy()))
"""
        },
        fails={
            "r2_score_values",
            "r2_score_argument_order",
            "r2_score_all_elements",
            "r2_score_value_errors",
        },
        says=("r2_score を使わずに",),
    ),
}
