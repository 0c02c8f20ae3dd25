"""Plausible mistakes in chapter 07's exercises, the graded cells that must catch them,
and the words their feedback must contain."""

from harness import Mistake

# Every cross-entropy cell compares values, so a wrong value fails all five.
CE_CELLS = {
    "cross_entropy_seed_example",
    "cross_entropy_matches_pytorch",
    "cross_entropy_large_logits",
    "cross_entropy_no_python_loop",
    "cross_entropy_keeps_float64",
}
SPLIT_CELLS = {"split_sizes_and_order", "split_matches_seeded_permutation"}

# The training half of a correct train_test_classification, shared by the
# mistakes that only get the evaluation wrong.
TRAIN_LOOP = """
    for _ in range(num_epochs):
        net.train()
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device).float(), labels.to(device).long()
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
"""
SIGNATURE = """def train_test_classification(
    net, criterion, optimizer, train_loader, test_loader, num_epochs=1, device="cpu"
):"""
COUNT_CORRECT = """
    def score(loader):
        correct, total = 0, 0
        for inputs, labels in loader:
            outputs = net(inputs.to(device).float())
            correct += (outputs.argmax(dim=1) == labels.to(device).long()).sum().item()
            total += labels.size(0)
        if total == 0:
            raise ValueError("empty loader")
        return {result}
"""
EVALUATE = """
    net.eval()
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""


def cross_entropy(body: str) -> dict[str, str]:
    return {"cross_entropy_loss": "def cross_entropy_loss(x, labels):\n" + body}


def split(body: str) -> dict[str, str]:
    return {"shuffle_and_split_data": "def shuffle_and_split_data(X, y, seed):\n" + body}


def train_test(body: str) -> dict[str, str]:
    return {"train_test_classification": SIGNATURE + body}


MISTAKES = {
    # ---------------------------------------------------------------- 7.1
    "cross_entropy_exp_then_log": Mistake(
        cells=cross_entropy("""
    probs = torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)
    return -torch.log(probs[torch.arange(len(x)), labels]).mean()
"""),
        fails={"cross_entropy_large_logits", "cross_entropy_keeps_float64"},
        says=("nan", "torch.logsumexp"),
    ),
    "cross_entropy_log_of_softmax": Mistake(
        cells=cross_entropy("""
    probs = torch.softmax(x, dim=1)
    return -torch.log(probs[torch.arange(len(x)), labels]).mean()
"""),
        fails={"cross_entropy_large_logits", "cross_entropy_keeps_float64"},
        says=("−log 0", "確率を経由せず"),
    ),
    "cross_entropy_sum_instead_of_mean": Mistake(
        cells=cross_entropy("""
    picked = x.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(x, dim=1) - picked).sum()
"""),
        fails=CE_CELLS,
        says=("平均のところで和",),
    ),
    "cross_entropy_columns_instead_of_rows": Mistake(
        cells=cross_entropy("""
    return (torch.logsumexp(x, dim=1) - x[:, labels]).mean()
"""),
        fails=CE_CELLS,
        says=("x[:, labels]", "x[torch.arange(N), labels]"),
    ),
    "cross_entropy_python_loop_over_rows": Mistake(
        cells=cross_entropy("""
    x_of_labels = torch.zeros(len(labels), dtype=x.dtype)
    for i, label in enumerate(labels):
        x_of_labels[i] = x[i, label]
    return (-x_of_labels + torch.logsumexp(x, dim=1)).mean()
"""),
        fails={"cross_entropy_no_python_loop"},
        says=("ループ",),
    ),
    "cross_entropy_casts_to_float32": Mistake(
        cells=cross_entropy("""
    x = x.float()
    picked = x[torch.arange(x.shape[0]), labels]
    return (torch.logsumexp(x, dim=1) - picked).mean()
"""),
        fails={"cross_entropy_keeps_float64"},
        says=("float32 に変換しないで",),
    ),
    "cross_entropy_uses_F_cross_entropy": Mistake(
        cells=cross_entropy("""
    return F.cross_entropy(x, labels)
"""),
        fails=CE_CELLS,
        says=("F.cross_entropy を使わずに",),
    ),
    "cross_entropy_uses_nn_CrossEntropyLoss": Mistake(
        cells=cross_entropy("""
    return nn.CrossEntropyLoss()(x, labels)
"""),
        fails=CE_CELLS,
        says=("nn.CrossEntropyLoss を使わずに",),
    ),
    "cross_entropy_uses_F_nll_loss": Mistake(
        cells=cross_entropy("""
    return F.nll_loss(F.log_softmax(x, dim=1), labels)
"""),
        fails=CE_CELLS,
        says=("F.nll_loss を使わずに",),
    ),
    # ---------------------------------------------------------------- 7.2
    "split_80_20_the_wrong_way_round": Mistake(
        cells=split("""
    torch.manual_seed(seed)
    perm = torch.randperm(len(X))
    n_train = int(0.2 * len(X))
    X, y = X[perm], y[perm]
    return X[n_train:], y[n_train:], X[:n_train], y[:n_train]
"""),
        fails=SPLIT_CELLS,
        says=("戻り値の順序",),
    ),
    "split_separate_permutations_for_X_and_y": Mistake(
        cells=split("""
    torch.manual_seed(seed)
    X = X[torch.randperm(len(X))]
    y = y[torch.randperm(len(y))]
    n_test = int(0.2 * len(X))
    return X[:n_test], y[:n_test], X[n_test:], y[n_test:]
"""),
        fails=SPLIT_CELLS,
        says=("同じ順列",),
    ),
    "split_seeds_after_drawing_the_permutation": Mistake(
        cells=split("""
    perm = torch.randperm(len(X))
    torch.manual_seed(seed)
    n_test = int(0.2 * len(X))
    return X[perm[:n_test]], y[perm[:n_test]], X[perm[n_test:]], y[perm[n_test:]]
"""),
        fails={"split_matches_seeded_permutation"},
        says=("torch.manual_seed(seed) を呼んだ直後に",),
    ),
    "split_with_random_split": Mistake(
        cells=split("""
    from torch.utils.data import random_split

    generator = torch.Generator().manual_seed(seed)
    test_part, train_part = random_split(range(len(X)), [0.2, 0.8], generator=generator)
    test_rows, train_rows = list(test_part), list(train_part)
    return X[test_rows], y[test_rows], X[train_rows], y[train_rows]
"""),
        fails=SPLIT_CELLS,
        says=("切り捨て", "random_split"),
    ),
    # ---------------------------------------------------------------- 7.3
    "train_test_without_zero_grad": Mistake(
        cells=train_test(
            TRAIN_LOOP.replace("            optimizer.zero_grad()\n", "")
            + COUNT_CORRECT.format(result="100 * correct / total")
            + EVALUATE
        ),
        fails={"train_test_updates_parameters"},
        says=("zero_grad() を呼ばなかった",),
    ),
    "train_test_accuracy_in_train_mode": Mistake(
        cells=train_test(
            TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""
        ),
        fails={
            "train_test_accuracy_known_model",
            "train_test_leaves_eval_mode",
            "train_test_evaluation_protocol",
        },
        says=("評価を訓練モードのまま", "net.eval()"),
    ),
    "train_test_train_accuracy_counted_during_training": Mistake(
        cells=train_test(
            """
    for _ in range(num_epochs):
        net.train()
        correct, total = 0, 0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device).float(), labels.to(device).long()
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            total += len(labels)
    if total == 0:
        raise ValueError("empty loader")
    train_acc = 100 * correct / total
"""
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        return train_acc, score(test_loader)
"""
        ),
        fails={"train_test_accuracy_known_model", "train_test_evaluation_protocol"},
        says=("学習中のバッチ",),
    ),
    "train_test_returns_to_train_mode": Mistake(
        cells=train_test(
            TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        accuracies = score(train_loader), score(test_loader)
    net.train()
    return accuracies
"""
        ),
        fails={"train_test_leaves_eval_mode"},
        says=("net.train() に戻さずに",),
    ),
    "train_test_fraction_instead_of_percent": Mistake(
        cells=train_test(TRAIN_LOOP + COUNT_CORRECT.format(result="correct / total") + EVALUATE),
        fails={"train_test_accuracy_known_model"},
        says=("百分率",),
    ),
    "train_test_evaluates_with_gradients": Mistake(
        cells=train_test(
            TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    return score(train_loader), score(test_loader)
"""
        ),
        fails={"train_test_evaluation_protocol"},
        says=("torch.no_grad() の外",),
    ),
    "train_test_divides_by_zero_on_an_empty_loader": Mistake(
        cells=train_test(
            TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total").replace(
                '        if total == 0:\n            raise ValueError("empty loader")\n', ""
            )
            + EVALUATE
        ),
        fails={"train_test_empty_loader"},
        says=("ValueError を送出してください", "ZeroDivisionError"),
    ),
    "train_test_reads_the_loaders_datasets": Mistake(
        cells=train_test(
            TRAIN_LOOP
            + """
    def score(loader):
        inputs, labels = loader.dataset.tensors
        predicted = net(inputs.to(device).float()).argmax(dim=1)
        return 100 * (predicted == labels.to(device).long()).float().mean().item()
"""
            + EVALUATE
        ),
        fails={"train_test_accuracy_known_model", "train_test_empty_loader"},
        says=(".dataset",),
    ),
}
