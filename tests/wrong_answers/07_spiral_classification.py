"""Plausible mistakes in chapter 07's exercises, and the graded cells that must catch them."""

from harness import Mistake

# Every cross-entropy cell compares values, so a wrong value fails all four.
CE_CELLS = {
    "cross_entropy_seed_example",
    "cross_entropy_matches_pytorch",
    "cross_entropy_large_logits",
    "cross_entropy_no_python_loop",
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
        return {result}
"""

MISTAKES = {
    "cross_entropy_naive_log_softmax": Mistake(
        cells={
            "cross_entropy_loss": """
def cross_entropy_loss(x, labels):
    probs = torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)
    return -torch.log(probs[torch.arange(len(x)), labels]).mean()
"""
        },
        fails={"cross_entropy_large_logits"},
    ),
    "cross_entropy_sum_instead_of_mean": Mistake(
        cells={
            "cross_entropy_loss": """
def cross_entropy_loss(x, labels):
    picked = x.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(x, dim=1) - picked).sum()
"""
        },
        fails=CE_CELLS,
    ),
    "cross_entropy_logsumexp_over_the_batch": Mistake(
        cells={
            "cross_entropy_loss": """
def cross_entropy_loss(x, labels):
    picked = x[torch.arange(x.shape[0]), labels]
    return (torch.logsumexp(x, dim=0) - picked).mean()
"""
        },
        fails=CE_CELLS,
    ),
    "cross_entropy_python_loop_over_rows": Mistake(
        cells={
            "cross_entropy_loss": """
def cross_entropy_loss(x, labels):
    x_of_labels = torch.zeros(len(labels))
    for i, label in enumerate(labels):
        x_of_labels[i] = x[i, label]
    return (-x_of_labels + torch.logsumexp(x, dim=1)).mean()
"""
        },
        fails={"cross_entropy_no_python_loop"},
    ),
    "split_80_20_the_wrong_way_round": Mistake(
        cells={
            "shuffle_and_split_data": """
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    perm = torch.randperm(len(X))
    n_train = int(0.2 * len(X))
    X, y = X[perm], y[perm]
    return X[n_train:], y[n_train:], X[:n_train], y[:n_train]
"""
        },
        fails=SPLIT_CELLS,
    ),
    "split_separate_permutations_for_X_and_y": Mistake(
        cells={
            "shuffle_and_split_data": """
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    X = X[torch.randperm(len(X))]
    y = y[torch.randperm(len(y))]
    n_test = int(0.2 * len(X))
    return X[:n_test], y[:n_test], X[n_test:], y[n_test:]
"""
        },
        fails=SPLIT_CELLS,
    ),
    "split_seeds_after_drawing_the_permutation": Mistake(
        cells={
            "shuffle_and_split_data": """
def shuffle_and_split_data(X, y, seed):
    perm = torch.randperm(len(X))
    torch.manual_seed(seed)
    n_test = int(0.2 * len(X))
    return X[perm[:n_test]], y[perm[:n_test]], X[perm[n_test:]], y[perm[n_test:]]
"""
        },
        fails={"split_matches_seeded_permutation"},
    ),
    "split_rounds_the_test_size": Mistake(
        cells={
            "shuffle_and_split_data": """
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    perm = torch.randperm(len(X))
    n_test = round(0.2 * len(X))
    return X[perm[:n_test]], y[perm[:n_test]], X[perm[n_test:]], y[perm[n_test:]]
"""
        },
        fails={"split_sizes_and_order"},
    ),
    "train_test_without_zero_grad": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP.replace("            optimizer.zero_grad()\n", "")
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""
        },
        fails={"train_test_updates_parameters"},
    ),
    "train_test_accuracy_in_train_mode": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""
        },
        fails={
            "train_test_accuracy_known_model",
            "train_test_leaves_eval_mode",
            "train_test_evaluation_protocol",
        },
    ),
    "train_test_train_accuracy_counted_during_training": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + """
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
    train_acc = 100 * correct / total
"""
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        return train_acc, score(test_loader)
"""
        },
        fails={"train_test_accuracy_known_model", "train_test_evaluation_protocol"},
    ),
    "train_test_returns_to_train_mode": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        accuracies = score(train_loader), score(test_loader)
    net.train()
    return accuracies
"""
        },
        fails={"train_test_leaves_eval_mode"},
    ),
    "train_test_fraction_instead_of_percent": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP
            + COUNT_CORRECT.format(result="correct / total")
            + """
    net.eval()
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""
        },
        fails={"train_test_accuracy_known_model"},
    ),
    "train_test_evaluates_with_gradients": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    return score(train_loader), score(test_loader)
"""
        },
        fails={"train_test_evaluation_protocol"},
    ),
    "train_test_never_calls_train": Mistake(
        cells={
            "train_test_classification": SIGNATURE
            + TRAIN_LOOP.replace("        net.train()\n", "")
            + COUNT_CORRECT.format(result="100 * correct / total")
            + """
    net.eval()
    with torch.no_grad():
        return score(train_loader), score(test_loader)
"""
        },
        fails={"train_test_evaluation_protocol"},
    ),
}
