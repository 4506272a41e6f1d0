"""The statistics of the summary: paired Wilcoxon signed-rank tests with their effect size, Holm's
correction and percentile-bootstrap confidence intervals of means. Written out in full (no
scipy.stats.wilcoxon) so that the rules are visible and tested:

- differences d = a - b; zero differences dropped (Wilcoxon's "wilcox" zero method), n = the number of
  non-zero differences; |d| ranked with ties given their mean rank; W+ / W- = the rank sums of the
  positive / negative differences; the statistic is min(W+, W-);
- exact two-sided p (the distribution of W+ over the 2^n sign patterns) when n <= 25 and no |d| is
  tied, else the normal approximation with the tie correction of the variance and no continuity
  correction; p = min(1, 2 * the smaller tail);
- no test below MIN_PAIRS non-zero pairs;
- effect size: the matched-pairs rank-biserial correlation r = (W+ - W-) / (W+ + W-) (Kerby 2014).
"""
import math

import numpy as np

MIN_PAIRS = 6
EXACT_MAX_N = 25
N_BOOTSTRAP = 10_000


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of the (finite) values, ties given their mean rank (scipy.stats.rankdata's
    default), without importing scipy.stats (most of a host process's start-up)."""
    x = np.asarray(values, np.float64).ravel()
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse.ravel()]


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equal-length samples: Pearson's r of their average ranks
    (NaN when one of them is constant)."""
    ra, rb = average_ranks(a), average_ranks(b)
    if ra.size != rb.size:
        raise ValueError(f"samples of different lengths: {ra.size} and {rb.size}")
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / denominator if denominator > 0 else math.nan


def _exact_counts(n) -> np.ndarray:
    """counts[w] = the number of sign patterns of ranks 1..n whose positive ranks sum to w."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=np.float64)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def wilcoxon(differences) -> dict:
    """Two-sided Wilcoxon signed-rank test of paired differences (a - b).

    Returns {n, statistic, p_value, effect_size, method, note}; p_value and statistic are NaN when
    there are fewer than MIN_PAIRS non-zero differences (note "n < 6")."""
    from scipy.stats import norm
    d = np.asarray(differences, np.float64)
    d = d[np.isfinite(d)]
    d = d[d != 0]
    n = int(d.size)
    out = dict(n=n, statistic=math.nan, p_value=math.nan, effect_size=math.nan, method="", note="")
    if n == 0:
        out["note"] = "all differences are zero"
        return out
    ranks = average_ranks(np.abs(d))
    w_plus, w_minus = float(ranks[d > 0].sum()), float(ranks[d < 0].sum())
    out["effect_size"] = (w_plus - w_minus) / (w_plus + w_minus)
    if n < MIN_PAIRS:
        out["note"] = f"n < {MIN_PAIRS}"
        return out
    out["statistic"] = min(w_plus, w_minus)
    tied = np.unique(np.abs(d)).size < n
    if n <= EXACT_MAX_N and not tied:
        counts = _exact_counts(n)
        total = counts.sum()
        w = int(round(w_plus))
        lower, upper = counts[:w + 1].sum() / total, counts[w:].sum() / total
        out["p_value"], out["method"] = min(1.0, 2 * min(lower, upper)), "exact"
    else:
        _, t = np.unique(ranks, return_counts=True)
        mean = n * (n + 1) / 4
        var = n * (n + 1) * (2 * n + 1) / 24 - np.sum(t ** 3 - t) / 48
        z = (w_plus - mean) / math.sqrt(var) if var > 0 else 0.0
        out["p_value"], out["method"] = min(1.0, float(2 * norm.sf(abs(z)))), "normal"
    return out


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family (NaN entries are not part of it)."""
    p = np.asarray(p_values, np.float64)
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[k]))
        out[k] = running
    return out


def bootstrap_ci(values, seed=0, n_resamples=N_BOOTSTRAP, level=0.95) -> tuple:
    """Percentile bootstrap confidence interval of the mean: (low, high); NaN for no value, the
    value itself for one."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (n_resamples, v.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def fmt_p(p) -> str:
    """A p-value in 3 significant digits ('' when there is none)."""
    return f"{p:.3g}" if p is not None and math.isfinite(p) else ""


def fmt(value, digits=4) -> str:
    """A number with `digits` decimals, never '-0.0000' ('' when not finite)."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
