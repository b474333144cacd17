"""Whole-set evaluation metrics, computed in float64 numpy on the host.

The challenge metric is CCC over all frames of a split at once; the mean of
per-batch CCCs (what the reference code logged) is biased and is never used.
"""

import numpy as np


def concordance_correlation(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whole-set CCC per column of [N, D] (or [N]) arrays, population stats."""
    x = np.asarray(predictions, np.float64)
    y = np.asarray(targets, np.float64)
    covariance = ((x - x.mean(0)) * (y - y.mean(0))).mean(0)
    denominator = x.var(0) + y.var(0) + (x.mean(0) - y.mean(0)) ** 2
    return 2.0 * covariance / np.maximum(denominator, 1e-12)


def rmse(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    diff = np.asarray(predictions, np.float64) - np.asarray(targets, np.float64)
    return np.sqrt((diff**2).mean(0))


def regression_metrics(
    predictions: np.ndarray, targets: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    """CCC and RMSE per named dimension plus their mean CCC, over the whole set."""
    ccc = concordance_correlation(predictions, targets)
    errors = rmse(predictions, targets)
    metrics = {}
    for i, name in enumerate(names):
        metrics[f"ccc_{name}"] = float(ccc[i])
        metrics[f"rmse_{name}"] = float(errors[i])
    metrics["ccc_mean"] = float(ccc.mean())
    return metrics


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts [true class, predicted class]."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def multilabel_metrics(
    logits: np.ndarray, targets: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    """F1 per label (logit > 0 is active), their mean, and accuracy, over labelled entries.

    Targets below 0 are not annotated and count for nothing. `f1_mean` averages
    the labels that have any annotated entry (ABAW's action-unit F1); a label
    with neither true nor predicted positives scores F1 = 0, as in scikit-learn.
    """
    predicted = np.asarray(logits) > 0
    targets = np.asarray(targets)
    labelled = targets >= 0
    active = targets > 0
    true_pos = (predicted & active & labelled).sum(0)
    # Each of the two sums counts the labelled entries predicted or truly active.
    denominator = (predicted & labelled).sum(0) + (active & labelled).sum(0)
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros(len(names)), where=denominator > 0)
    metrics = {f"f1_{name}": float(f1[i]) for i, name in enumerate(names) if labelled[:, i].any()}
    metrics["f1_mean"] = float(
        np.mean([metrics[f"f1_{name}"] for name in names if f"f1_{name}" in metrics])
    )
    metrics["accuracy"] = float((predicted == active)[labelled].mean())
    return metrics


def classification_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 and per-class recall over the whole set.

    `f1_macro` averages the F1 of every class that occurs in the labels or the
    predictions (scikit-learn's f1_score(average="macro") without its `labels`
    argument; the ABAW expression challenges' F1).
    """
    predicted = np.asarray(logits).argmax(-1)
    labels = np.asarray(labels).reshape(-1)
    matrix = confusion_matrix(labels, predicted, np.asarray(logits).shape[-1])
    support = matrix.sum(1)
    recall = np.divide(
        np.diag(matrix), support, out=np.full(len(support), np.nan), where=support > 0
    )
    occurring = (support > 0) | (matrix.sum(0) > 0)
    f1 = 2 * np.diag(matrix)[occurring] / (support + matrix.sum(0))[occurring]
    metrics = {"accuracy": float((predicted == labels).mean()), "f1_macro": float(f1.mean())}
    for i, value in enumerate(recall):
        metrics[f"recall_{i}"] = float(value)
    return metrics


def mask_logits(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """`logits` (float64) with every class not `allowed` (a boolean per class) at -inf.

    Their argmax is then always an allowed class, however high the others scored.
    """
    return np.where(np.asarray(allowed, bool), np.asarray(logits, np.float64), -np.inf)


def shared_class_metrics(
    logits: np.ndarray, labels: np.ndarray, shared: np.ndarray
) -> dict[str, float]:
    """Accuracy and macro F1 over the examples of the `shared` classes, predicted among them.

    `shared` marks classes (a boolean per class). The logits of every other
    class are masked out (`mask_logits`), and only examples whose true class
    is shared are scored: a cross-dataset target judged on the classes that
    both the training split and the target have. {} when no example's class
    is shared.
    """
    shared = np.asarray(shared, bool)
    labels = np.asarray(labels).reshape(-1)
    scored = shared[labels]
    if not scored.any():
        return {}
    # Cross-dataset, every shared class has an example, so F1 averages all of them.
    scores = classification_metrics(mask_logits(logits, shared)[scored], labels[scored])
    return {"shared_accuracy": scores["accuracy"], "shared_f1_macro": scores["f1_macro"]}
