"""Emotion from micro-gestures: iMiGUE's second protocol, win/lose of a press conference from its gestures.

Each iMiGUE video is one player's press conference after a win or a loss (``win_or_lose`` of the official CSV).
Per video, the bag (or sequence) of its micro-gestures becomes a feature vector and a class-weighted,
L2-regularised logistic regression says Win or Lose::

    clips = build_clip_index(root)                          # or read_official_csv(path): needs win_or_lose
    result = run_emotion(clips, "bag_logistic")             # oracle: the ground-truth gesture labels
    result.metrics["balanced_accuracy"], result.metrics["balanced_accuracy_ci"]

    test_clips = clips_with_predictions(clips, saved)       # the kit's clip predictions replace the labels
    result = run_emotion(clips, "bag_logistic", test_clips=test_clips)
    result = run_emotion(clips, "bag_logistic", test_clips=clips_from_spots(spots))   # a spotter's detections

Protocol (docs/RECONSTRUCTION.md, "Kit extension: emotion"): the cross-subject split of the clip task, by
video: the videos of the 37 training subjects (MiGA's validation videos included) train, the 35 test
subjects' videos test. Class imbalance (iMiGUE: 202 Win / 53 Lose training videos, 56 / 48 test) is handled
by balanced class weights in the loss; the test report gives accuracy, balanced accuracy (the mean of the two
recalls, 0.5 for any constant guess) and percentile bootstrap intervals that resample test *subjects*
(a subject's videos are not independent), plus the majority-class baseline.

Inputs are clip tables with columns ``video, subject, split, start_frame, label, win_or_lose`` (the clip index
of docs/ARCHITECTURE.md plus the emotion), so the ground truth, the kit's predictions
(:func:`clips_with_predictions`) or a spotter's detections on untrimmed video (:func:`clips_from_spots`) all
enter the same way. ``label`` is the MiGA class 0..31 of each clip; rows with ``prob_0..prob_31`` columns give
soft histograms (``histogram="soft"``).

The classifier is trained on the *labels* of the training videos whatever the test input: the clip model's
predictions on its own training clips are in-sample and would teach the emotion model a too-clean picture.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from ..core.atomic import atomic_open
from ..data.classes import NUM_CLASSES

#: The two outcomes; the positive class of the logistic model is ``EMOTIONS[1]`` ('Lose').
EMOTIONS = ("Win", "Lose")
FEATURES = ("bag", "bag+transitions")
#: Candidate inverse regularisation strengths for the subject-grouped cross-validation.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass(frozen=True)
class EmotionConfig:
    """A named emotion classifier (configs are data; :data:`EMOTION_CONFIGS`).

    ``features``: ``'bag'`` the normalised class histogram of a video's clips (32,); ``'bag+transitions'``
    adds the normalised histogram of consecutive clip pairs (32 * 32, first-order sequence information).
    ``histogram``: ``'hard'`` counts ``label``; ``'soft'`` sums the ``prob_*`` columns (test input only; the
    training side is always hard labels). ``C``: inverse L2 strength on standardised features (sklearn's
    convention: loss = sum of weighted log losses + ||w||^2 / (2C)); None chooses it from :data:`C_GRID` by
    ``cv_folds``-fold cross-validation grouped by training subject, maximising balanced accuracy.
    ``class_weight``: ``'balanced'`` (each emotion weighs half of the loss) or ``'none'``.
    ``bootstrap_unit``: ``'subject'`` (cluster bootstrap) or ``'video'``.
    """

    name: str
    features: str = "bag"
    histogram: str = "hard"
    C: float | None = None
    class_weight: str = "balanced"
    cv_folds: int = 5
    n_boot: int = 2000
    bootstrap_unit: str = "subject"
    seed: int = 0

    def __post_init__(self):
        if self.features not in FEATURES:
            raise ValueError(f"emotion config {self.name!r}: features must be one of {FEATURES}, got {self.features!r}")
        if self.histogram not in ("hard", "soft"):
            raise ValueError(f"emotion config {self.name!r}: histogram must be 'hard' or 'soft'")
        if self.class_weight not in ("balanced", "none"):
            raise ValueError(f"emotion config {self.name!r}: class_weight must be 'balanced' or 'none'")
        if self.bootstrap_unit not in ("subject", "video"):
            raise ValueError(f"emotion config {self.name!r}: bootstrap_unit must be 'subject' or 'video'")


EMOTION_CONFIGS: dict[str, EmotionConfig] = {
    "bag_logistic": EmotionConfig("bag_logistic"),
    "sequence_logistic": EmotionConfig("sequence_logistic", features="bag+transitions"),
    "bag_logistic_soft": EmotionConfig("bag_logistic_soft", histogram="soft"),
}


def get_emotion_config(config: str | EmotionConfig, **overrides) -> EmotionConfig:
    """A config from :data:`EMOTION_CONFIGS` by name (or as given), with ``overrides`` applied."""
    if isinstance(config, str):
        if config not in EMOTION_CONFIGS:
            raise KeyError(f"unknown emotion config {config!r}; known: {sorted(EMOTION_CONFIGS)}")
        config = EMOTION_CONFIGS[config]
    return replace(config, **overrides) if overrides else config


# ------------------------------------------------------------------------------------------ per video

_PROB_COLUMNS = [f"prob_{c}" for c in range(NUM_CLASSES)]


def protocol_side(split: str) -> str:
    """``'train'`` for the training subjects' videos (train and MiGA val folders), ``'test'`` otherwise."""
    return "test" if split == "test" else "train"


def video_table(clips: pd.DataFrame) -> pd.DataFrame:
    """One row per video: ``video, subject, side ('train'/'test'), emotion, n_clips``, sorted by video.

    Raises ``ValueError`` naming the video when ``win_or_lose`` is missing, not Win/Lose, or differs within
    a video, or when a video's clips name two subjects.
    """
    need = {"video", "subject", "split", "win_or_lose"}
    if not need <= set(clips.columns):
        raise ValueError(f"clip table lacks {sorted(need - set(clips.columns))}: emotion needs the official "
                         "CSV's win_or_lose (build the clip index from labels_20200831.csv)")
    g = clips.groupby("video", sort=True)
    per = g.agg(subject=("subject", "first"), n_subjects=("subject", "nunique"), split=("split", "first"),
                emotion=("win_or_lose", "first"), n_emotions=("win_or_lose", "nunique"), n_clips=("video", "size"))
    for video, row in per.iterrows():
        if row.n_emotions != 1 or row.emotion not in EMOTIONS:
            values = sorted(clips.loc[clips["video"] == video, "win_or_lose"].astype(str).unique())
            raise ValueError(f"video {video}: win_or_lose must be one of {EMOTIONS} for all its clips, got {values}")
        if row.n_subjects != 1:
            raise ValueError(f"video {video}: clips name {row.n_subjects} different subjects")
    per["side"] = per["split"].map(protocol_side)
    return per.reset_index()[["video", "subject", "side", "emotion", "n_clips"]]


def gesture_features(clips: pd.DataFrame, videos, features: str = "bag", histogram: str = "hard") -> np.ndarray:
    """Feature matrix float64 (len(videos), F) of the given videos' clips (order by ``start_frame``).

    ``bag``: the class histogram normalised to sum 1 (F = 32). ``bag+transitions``: also the histogram of
    (class of clip i, class of clip i+1) pairs, normalised (F = 32 + 1024). ``histogram='soft'`` uses the
    ``prob_0..prob_31`` columns for the bag (transitions always use ``label``). A video with no clips (a
    spotter found none) gets zeros.
    """
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    if histogram == "soft" and not set(_PROB_COLUMNS) <= set(clips.columns):
        raise ValueError("histogram='soft' needs prob_0..prob_31 columns (clips_with_predictions writes them)")
    videos = np.asarray(videos, dtype=np.int64)
    row = {int(v): i for i, v in enumerate(videos)}
    width = NUM_CLASSES + (NUM_CLASSES ** 2 if features == "bag+transitions" else 0)
    X = np.zeros((len(videos), width))
    part = clips[clips["video"].isin(row)].sort_values(["video", "start_frame"], kind="stable")
    for video, g in part.groupby("video", sort=False):
        i = row[int(video)]
        labels = g["label"].to_numpy(np.int64)
        if histogram == "soft":
            bag = g[_PROB_COLUMNS].to_numpy(np.float64).sum(axis=0)
        else:
            bag = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
        X[i, :NUM_CLASSES] = bag / max(bag.sum(), 1e-12)
        if features == "bag+transitions" and len(labels) > 1:
            pairs = np.bincount(labels[:-1] * NUM_CLASSES + labels[1:], minlength=NUM_CLASSES ** 2)
            X[i, NUM_CLASSES:] = pairs / pairs.sum()
    return X


# ------------------------------------------------------------------------------------------ the model

@dataclass
class LogisticModel:
    """Standardise, then ``p(Lose) = sigmoid(z @ coef + intercept)``; ``mean``/``scale``/``coef`` (F,).
    Features constant on the training videos have ``coef`` 0."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    C: float

    def decision(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(N,) probability of Lose."""
        return expit(self.decision(X))


def class_weights(y: np.ndarray, mode: str = "balanced") -> np.ndarray:
    """Per-sample weights (N,): ``n / (2 n_class)`` for ``'balanced'`` (sklearn's rule), ones for ``'none'``."""
    y = np.asarray(y, dtype=np.int64)
    if mode == "none":
        return np.ones(len(y))
    counts = np.bincount(y, minlength=2).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(f"balanced class weights need both emotions among the training videos, got counts {counts}")
    return (len(y) / (2 * counts))[y]


def _newton(A: np.ndarray, R: np.ndarray, y: np.ndarray, w: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    """argmin over theta of ``sum_i w_i logloss(y_i, (A theta)_i) + theta^T R theta / 2`` (convex), by Newton's
    method with backtracking line search."""
    def loss(theta):
        t = A @ theta
        return float(np.sum(w * (np.logaddexp(0.0, t) - y * t)) + 0.5 * theta @ R @ theta)

    theta = np.zeros(A.shape[1])
    value = loss(theta)
    ridge = 1e-10 * np.eye(A.shape[1])
    for _ in range(max_iter):
        p = expit(A @ theta)
        grad = A.T @ (w * (p - y)) + R @ theta
        if np.abs(grad).max() < tol:
            break
        step = np.linalg.solve((A * (w * p * (1 - p))[:, None]).T @ A + R + ridge, grad)
        t = 1.0
        while t > 1e-10:
            candidate = theta - t * step
            new_value = loss(candidate)
            if new_value <= value - 1e-4 * t * grad @ step:
                break
            t *= 0.5
        theta, value = candidate, new_value
    return theta


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, weight: np.ndarray | None = None,
                 tol: float = 1e-8, max_iter: int = 100) -> LogisticModel:
    """Weighted L2 logistic regression on standardised ``X`` (N, F); ``y`` (N,) in {0, 1}.

    Minimises ``sum_i weight_i * logloss_i + ||coef||^2 / (2 C)`` (intercept unpenalised) by Newton's method
    (convex), to a gradient below ``tol``. With more features than videos (transitions) it solves the same
    problem over ``coef = Z^T alpha`` (the optimum lies in the span of the standardised rows ``Z``: N + 1
    unknowns instead of F + 1). Features constant on these videos get coefficient 0.
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, np.float64)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    varies = scale >= 1e-12
    scale[~varies] = 1.0
    Z = ((X - mean) / scale)[:, varies]
    ones = np.ones((len(y), 1))
    if Z.shape[1] <= len(y):
        R = np.diag(np.append(np.full(Z.shape[1], 1.0 / C), 0.0))
        theta = _newton(np.hstack([Z, ones]), R, y, w, tol, max_iter)
        coef_varies = theta[:-1]
    else:
        K = Z @ Z.T
        R = np.zeros((len(y) + 1,) * 2)
        R[:-1, :-1] = K / C
        theta = _newton(np.hstack([K, ones]), R, y, w, tol, max_iter)
        coef_varies = Z.T @ theta[:-1]
    coef = np.zeros(X.shape[1])
    coef[varies] = coef_varies
    return LogisticModel(mean, scale, coef, float(theta[-1]), float(C))


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean over the emotions present of each one's recall (0.5 for a constant guess on both classes)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    recalls = [float((y_pred[y_true == c] == c).mean()) for c in np.unique(y_true)]
    return float(np.mean(recalls)) if recalls else float("nan")


def choose_C(X, y, groups, config: EmotionConfig) -> tuple[float, pd.DataFrame]:
    """C from :data:`C_GRID` by cross-validation over folds of whole training subjects (balanced accuracy of
    the pooled out-of-fold predictions; ties go to the smaller C). Returns ``(C, table of C -> score)``."""
    groups = np.asarray(groups)
    subjects = np.unique(groups)
    folds = min(config.cv_folds, len(subjects))
    if folds < 2:
        raise ValueError(f"cross-validating C needs at least 2 training subjects, got {len(subjects)}")
    rng = np.random.default_rng([config.seed, 17])
    fold_of = dict(zip(rng.permutation(subjects), np.arange(len(subjects)) % folds))
    fold = np.array([fold_of[s] for s in groups])
    rows = []
    for C in C_GRID:
        pred = np.zeros(len(y), dtype=np.int64)
        for k in range(folds):
            tr, te = fold != k, fold == k
            if len(np.unique(y[tr])) < 2:
                pred[te] = np.bincount(y[tr]).argmax()
                continue
            m = fit_logistic(X[tr], y[tr], C, class_weights(y[tr], config.class_weight))
            pred[te] = (m.predict_proba(X[te]) >= 0.5).astype(np.int64)
        rows.append({"C": C, "cv_balanced_accuracy": balanced_accuracy(y, pred), "cv_accuracy": float((pred == y).mean())})
    table = pd.DataFrame(rows)
    best = table["cv_balanced_accuracy"].max()
    return float(table.loc[table["cv_balanced_accuracy"] >= best - 1e-12, "C"].min()), table


def bootstrap_metrics(y_true, y_pred, groups, n_boot: int = 2000, seed: int = 0, ci: float = 0.95) -> dict:
    """Accuracy and balanced accuracy of ``y_true``/``y_pred`` (N,) in {0, 1}, with percentile intervals from
    resampling ``groups`` (the unit: subject
    ids for a cluster bootstrap, or ``arange(N)`` for videos) with replacement. Returns
    ``accuracy, accuracy_ci (low, high), balanced_accuracy, balanced_accuracy_ci, n, n_groups``."""
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    units, inverse = np.unique(groups, return_inverse=True)
    # per unit: [right Win, all Win, right Lose, all Lose]; a resample's counts are sums of its units' rows
    per_unit = np.zeros((len(units), 4))
    right = (y_true == y_pred).astype(np.float64)
    for k, cls in enumerate((0, 1)):
        is_cls = (y_true == cls).astype(np.float64)
        np.add.at(per_unit[:, 2 * k], inverse, right * is_cls)
        np.add.at(per_unit[:, 2 * k + 1], inverse, is_cls)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(units), size=(n_boot, len(units)))
    counts = np.stack([np.bincount(d, minlength=len(units)) for d in draws]) @ per_unit  # (n_boot, 4)
    acc = (counts[:, 0] + counts[:, 2]) / (counts[:, 1] + counts[:, 3])
    with np.errstate(invalid="ignore", divide="ignore"):
        recalls = np.stack([counts[:, 0] / counts[:, 1], counts[:, 2] / counts[:, 3]], axis=1)
    bal = np.nanmean(recalls, axis=1)  # a resample holding one emotion only: its one recall
    q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
    return {"accuracy": float((y_true == y_pred).mean()), "accuracy_ci": tuple(float(v) for v in np.quantile(acc, q)),
            "balanced_accuracy": balanced_accuracy(y_true, y_pred),
            "balanced_accuracy_ci": tuple(float(v) for v in np.nanquantile(bal, q)),
            "n": int(len(y_true)), "n_groups": int(len(units))}


# ------------------------------------------------------------------------------------------ the experiment

@dataclass
class EmotionResult:
    """One emotion experiment: its config, the fitted model, per-video test predictions and the metrics.

    ``predictions``: one row per test video (``video, subject, emotion, n_clips, p_lose, predicted, correct``).
    ``metrics``: :func:`bootstrap_metrics` plus ``majority_accuracy``/``majority_emotion`` (the constant guess
    of the training majority), ``C``, ``input``. ``balance``: videos per (side, emotion). ``cv``: the C search.
    """

    config: EmotionConfig
    model: LogisticModel
    predictions: pd.DataFrame
    metrics: dict
    balance: pd.DataFrame
    cv: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready: config, metrics, balance (nested dict side -> emotion -> videos)."""
        bal = {side: g.set_index("emotion")["videos"].astype(int).to_dict() for side, g in self.balance.groupby("side")}
        return {"config": asdict(self.config), "metrics": self.metrics, "balance": bal}


def run_emotion(clips: pd.DataFrame, config: str | EmotionConfig = "bag_logistic", test_clips: pd.DataFrame | None = None,
                input_name: str | None = None) -> EmotionResult:
    """Train on the training subjects' videos of ``clips`` (their ground-truth labels), test on the test videos.

    ``test_clips``: the clips the test videos' features come from (default: ``clips``' own test rows, the
    oracle); e.g. :func:`clips_with_predictions` or a spotter's detections. Every test video of ``clips``
    is scored (one without test clips gets an all-zero histogram). ``input_name`` labels the result
    (default ``'labels'`` or ``'given clips'``).
    """
    config = get_emotion_config(config)
    videos = video_table(clips)
    train, test = videos[videos["side"] == "train"], videos[videos["side"] == "test"]
    if train.empty or test.empty:
        raise ValueError(f"emotion needs training and test videos, got {len(train)} and {len(test)}")
    y_train = (train["emotion"] == EMOTIONS[1]).to_numpy(np.int64)
    y_test = (test["emotion"] == EMOTIONS[1]).to_numpy(np.int64)
    X_train = gesture_features(clips, train["video"], config.features, "hard")
    source = clips if test_clips is None else test_clips
    X_test = gesture_features(source, test["video"], config.features, config.histogram)

    cv = None
    C = config.C
    if C is None:
        C, cv = choose_C(X_train, y_train, train["subject"].to_numpy(), config)
    model = fit_logistic(X_train, y_train, C, class_weights(y_train, config.class_weight))
    p = model.predict_proba(X_test)
    pred = (p >= 0.5).astype(np.int64)
    groups = test["subject"].to_numpy() if config.bootstrap_unit == "subject" else np.arange(len(test))
    metrics = bootstrap_metrics(y_test, pred, groups, config.n_boot, config.seed)
    majority = int(np.bincount(y_train, minlength=2).argmax())
    metrics.update({"majority_emotion": EMOTIONS[majority], "majority_accuracy": float((y_test == majority).mean()),
                    "C": float(C), "input": input_name or ("labels" if test_clips is None else "given clips"),
                    "n_train_videos": int(len(train)), "n_test_subjects": int(test["subject"].nunique())})
    out = test[["video", "subject", "emotion", "n_clips"]].reset_index(drop=True).copy()
    out["p_lose"] = p
    out["predicted"] = np.asarray(EMOTIONS)[pred]
    out["correct"] = out["predicted"] == out["emotion"]
    balance = videos.groupby(["side", "emotion"]).size().rename("videos").reset_index()
    return EmotionResult(config, model, out, metrics, balance, cv)


def clips_with_predictions(clips: pd.DataFrame, sample_ids, logits) -> pd.DataFrame:
    """The rows of ``clips`` that were predicted, with ``label`` replaced by the argmax of ``logits`` (N, 32)
    and ``prob_0..prob_31`` (softmax) added; ``true_label`` keeps the ground truth.

    Raises ``KeyError`` naming the first sample id absent from ``clips``.
    """
    logits = np.asarray(logits, np.float64)
    sample_ids = [str(s) for s in sample_ids]
    if logits.shape != (len(sample_ids), NUM_CLASSES):
        raise ValueError(f"logits must be ({len(sample_ids)}, {NUM_CLASSES}), got {logits.shape}")
    by_id = clips.set_index("sample_id")
    missing = [s for s in sample_ids if s not in by_id.index]
    if missing:
        raise KeyError(f"{len(missing)} predicted sample id(s) are not in the clip table, e.g. {missing[0]!r}")
    out = by_id.loc[sample_ids].reset_index()
    out["true_label"] = out["label"]
    out["label"] = logits.argmax(axis=1)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob = z / z.sum(axis=1, keepdims=True)
    return pd.concat([out, pd.DataFrame(prob, columns=_PROB_COLUMNS)], axis=1)


def clips_from_spots(spots: pd.DataFrame, min_score: float | None = None) -> pd.DataFrame:
    """A spotter's detections on untrimmed video (``video, start_frame, end_frame, class[, score]``, the spots
    table of the spotting module) as test clips for :func:`run_emotion`: ``class`` becomes ``label``; with
    ``min_score``, detections scoring below it are dropped. Raises ``ValueError`` naming missing columns."""
    need = {"video", "start_frame", "class"}
    if not need <= set(spots.columns):
        raise ValueError(f"spots table lacks {sorted(need - set(spots.columns))}; expected video, start_frame, "
                         "end_frame, class[, score]")
    out = spots.rename(columns={"class": "label"})
    if min_score is not None:
        out = out[out["score"] >= min_score]
    return out.astype({"video": np.int64, "start_frame": np.int64, "label": np.int64}).reset_index(drop=True)


def results_table(results: dict[str, EmotionResult]) -> pd.DataFrame:
    """One row per experiment: accuracy and balanced accuracy (with intervals), majority baseline, C, n."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append({"experiment": name, "input": m["input"], "config": r.config.name, "accuracy": m["accuracy"],
                     "accuracy_low": m["accuracy_ci"][0], "accuracy_high": m["accuracy_ci"][1],
                     "balanced_accuracy": m["balanced_accuracy"], "balanced_low": m["balanced_accuracy_ci"][0],
                     "balanced_high": m["balanced_accuracy_ci"][1], "majority_accuracy": m["majority_accuracy"],
                     "C": m["C"], "test_videos": m["n"], "test_subjects": m["n_test_subjects"]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m clipmg_lib.eval.emotion --official-csv labels_20200831.csv [--config NAME] [--out FILE.json]``:
    the oracle experiment (ground-truth gestures -> emotion) on an official annotation CSV."""
    from ..data.annotations import read_official_csv

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--official-csv", required=True)
    ap.add_argument("--config", action="append", help=f"one of {sorted(EMOTION_CONFIGS)} (repeatable)")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    clips = read_official_csv(args.official_csv)
    report = {}
    for name in args.config or ["bag_logistic", "sequence_logistic"]:
        r = run_emotion(clips, name)
        report[name] = r.summary()
        m = r.metrics
        print(f"{name}: accuracy {m['accuracy']:.3f} [{m['accuracy_ci'][0]:.3f}, {m['accuracy_ci'][1]:.3f}], "
              f"balanced accuracy {m['balanced_accuracy']:.3f} [{m['balanced_accuracy_ci'][0]:.3f}, "
              f"{m['balanced_accuracy_ci'][1]:.3f}], majority {m['majority_accuracy']:.3f}, C={m['C']}, "
              f"{m['n']} test videos of {m['n_test_subjects']} subjects")
    if args.out:
        with atomic_open(args.out) as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
