"""The statistics of the summary: Student-t confidence intervals of means, paired Wilcoxon
signed-rank tests with their effect size and Holm's correction.

Confidence interval of a mean (every interval the tool prints: summary.md/csv, report.html, the
bands of curves.png): the Student-t interval mean +- t(1 - a/2, n - 1) * s / sqrt(n), s the standard
deviation with ddof = 1 (Student 1908; scipy.stats.t.interval gives the same). Its coverage is exact
for normal data at every n and close for skewed data from n of about a dozen (the percentile
bootstrap it replaces is too narrow below a few dozen values: it was the data's range at n = 2 and 3).
No interval below MIN_CI_N values.

The Wilcoxon test is written out in full (no scipy.stats.wilcoxon) so that the rules are visible and
tested:

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
MIN_CI_N = 3  # no confidence interval below this many values ("n < 3")
CI_LEVEL = 0.95


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


def t_half_width(std, n, level=CI_LEVEL):
    """Half-width t(1 - a/2, n - 1) * std / sqrt(n) of the Student-t interval (arrays broadcast); NaN
    where n < MIN_CI_N. scipy.special.stdtrit is scipy.stats.t.ppf without importing scipy.stats
    (most of a host process's start-up)."""
    from scipy.special import stdtrit
    n = np.asarray(n, np.float64)
    enough = n >= MIN_CI_N
    quantile = stdtrit(np.where(enough, n - 1, 1.0), 0.5 + level / 2)
    half = quantile * np.asarray(std, np.float64) / np.sqrt(np.where(enough, n, 1.0))
    return np.where(enough, half, math.nan)


def mean_ci(values, level=CI_LEVEL) -> tuple:
    """Student-t confidence interval of the mean of the finite values: (low, high); (NaN, NaN)
    below MIN_CI_N values."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < MIN_CI_N:
        return math.nan, math.nan
    half = float(t_half_width(v.std(ddof=1), v.size, level))
    mean = float(v.mean())
    return mean - half, mean + half


def fmt_p(p) -> str:
    """A p-value in 3 significant digits ('' when there is none)."""
    return f"{p:.3g}" if p is not None and math.isfinite(p) else ""


def fmt(value, digits=4) -> str:
    """A number with `digits` decimals, never '-0.0000' ('' when not finite)."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
