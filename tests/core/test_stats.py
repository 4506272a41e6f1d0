"""The summary's statistics: hand-computed Wilcoxon tests, Holm's correction, effect sizes,
bootstrap intervals and the number formats."""
import math

import numpy as np
import pytest
from scipy import stats as sp

from xai_mexculture.core import stats


def test_wilcoxon_exact_all_positive():
    res = stats.wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    # W+ = 21, W- = 0: only 1 of the 2^6 sign patterns is as extreme on each side
    assert res["n"] == 6 and res["statistic"] == 0 and res["method"] == "exact"
    assert res["p_value"] == pytest.approx(2 / 64)
    assert res["effect_size"] == pytest.approx(1.0)


def test_wilcoxon_exact_mixed_signs_hand_computed():
    d = [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]  # ranks 1..6, W- = 2, W+ = 19
    res = stats.wilcoxon(d)
    # P(W+ >= 19) = P(W- <= 2) = #{sums of distinct ranks <= 2: {}, {1}, {2}} / 64 = 3 / 64
    assert res["statistic"] == 2 and res["p_value"] == pytest.approx(6 / 64)
    assert res["effect_size"] == pytest.approx((19 - 2) / 21)
    assert res["p_value"] == pytest.approx(sp.wilcoxon(d, method="exact").pvalue)


def test_wilcoxon_drops_zero_differences_and_needs_six():
    res = stats.wilcoxon([0, 0, 0.1, 0.2, 0.3, 0.4, 0.5, -0.6])
    assert res["n"] == 6 and math.isfinite(res["p_value"])
    few = stats.wilcoxon([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert few["n"] == 5 and math.isnan(few["p_value"]) and few["note"] == "n < 6"
    assert few["effect_size"] == pytest.approx(1.0)  # the effect size is still given
    none = stats.wilcoxon([0.0, 0.0])
    assert none["n"] == 0 and math.isnan(none["effect_size"]) and "zero" in none["note"]


def test_wilcoxon_normal_approximation_with_ties_and_large_n():
    d = [1, 1, 2, 3, -3, 4, 5, 6, 7, -8]  # tied |d|: normal approximation with tie correction
    res = stats.wilcoxon(d)
    ref = sp.wilcoxon(d, zero_method="wilcox", method="approx", correction=False)
    assert res["method"] == "normal" and res["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert res["statistic"] == pytest.approx(ref.statistic)
    big = np.random.default_rng(0).normal(0.3, 1, 40)  # n > 25
    res = stats.wilcoxon(big)
    ref = sp.wilcoxon(big, method="approx", correction=False)
    assert res["method"] == "normal" and res["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    small = np.random.default_rng(1).normal(0.3, 1, 25)  # n = 25, no ties: still exact
    res = stats.wilcoxon(small)
    assert res["method"] == "exact" and res["p_value"] == pytest.approx(sp.wilcoxon(small, method="exact").pvalue)


def test_holm_hand_computed():
    adjusted = stats.holm([0.01, 0.04, 0.03, math.nan])
    # sorted 0.01, 0.03, 0.04 with m = 3: 0.03, 0.06, max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(adjusted[:3], [0.03, 0.06, 0.06])
    assert math.isnan(adjusted[3])
    assert stats.holm([0.5, 0.9])[1] == 1.0  # capped at 1


def test_mean_ci_is_scipys_t_interval_and_none_below_three_values():
    v = np.random.default_rng(3).normal(10, 2, 12)
    low, high = stats.mean_ci(v)
    ref = sp.t.interval(0.95, v.size - 1, loc=v.mean(), scale=sp.sem(v))
    assert (low, high) == pytest.approx(ref, rel=1e-12)
    # two values: no interval (the percentile bootstrap gave their range, 0.7784 to 0.8057)
    assert all(math.isnan(x) for x in stats.mean_ci([0.7784, 0.8057]))
    assert all(math.isnan(x) for x in stats.mean_ci([]))
    assert stats.mean_ci([4.0, 4.0, 4.0]) == (4.0, 4.0)
    low, high = stats.mean_ci([0.7784, 0.8057, 0.79])  # three values: t(0.975, 2) = 4.303
    half = 4.302652729911275 * np.std([0.7784, 0.8057, 0.79], ddof=1) / math.sqrt(3)
    assert (high - low) / 2 == pytest.approx(half, rel=1e-9)


@pytest.mark.parametrize("n", [5, 12, 30])
def test_the_interval_covers_the_mean_at_its_nominal_rate(n):
    """2,000 seeded samples of n values each: the 95% interval covers the true mean of a normal
    within 0.93-0.97 at every n, and of an exponential (skewed) at least 0.88 from n = 12."""
    rng = np.random.default_rng(n)
    for name, draw, mean in (("normal", lambda size: rng.normal(3.0, 2.0, size), 3.0),
                             ("exponential", lambda size: rng.exponential(1.0, size), 1.0)):
        samples = draw((2000, n))
        half = stats.t_half_width(samples.std(axis=1, ddof=1), n)
        coverage = float(np.mean(np.abs(samples.mean(axis=1) - mean) <= half))
        if name == "normal":
            assert 0.93 <= coverage <= 0.97, (name, n, coverage)
        elif n >= 12:
            assert coverage >= 0.88, (name, n, coverage)
        # the same interval one sample at a time (the summary's function)
        low, high = stats.mean_ci(samples[0])
        assert high - low == pytest.approx(2 * half[0])


def test_formats_never_negative_zero():
    assert stats.fmt(-0.00001) == "0.0000" and stats.fmt(-0.5) == "-0.5000"
    assert stats.fmt(math.nan) == ""
    assert stats.fmt_p(0.000123456) == "0.000123" and stats.fmt_p(1.0) == "1" and stats.fmt_p(math.nan) == ""


def test_average_ranks_and_spearman_hand_computed_and_as_scipy():
    # 3 and 3 share ranks 2 and 3: 2.5 each; the three 7s share 4, 5, 6: 5 each
    np.testing.assert_array_equal(stats.average_ranks([1, 3, 7, 3, 7, 7]), [1, 2.5, 5, 2.5, 5, 5])
    np.testing.assert_array_equal(stats.average_ranks(np.array([[2.0, 1.0]])), [2, 1])
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(stats.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="different lengths"):
        stats.spearman([1, 2], [1, 2, 3])
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 6, 30).astype(float), rng.normal(size=30)
        np.testing.assert_array_equal(stats.average_ranks(a), sp.rankdata(a))
        assert stats.spearman(a, b) == pytest.approx(sp.spearmanr(a, b).statistic, abs=1e-12)
