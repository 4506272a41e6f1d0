"""The summary's statistics: hand-computed Wilcoxon tests, Holm's correction, effect sizes,
bootstrap intervals and the number formats."""
import math
import re

import numpy as np
import pytest
from scipy import stats as sp

import report
import stats


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


def test_bootstrap_ci():
    v = np.random.default_rng(3).normal(10, 2, 200)
    low, high = stats.bootstrap_ci(v, seed=5)
    assert (low, high) == stats.bootstrap_ci(v, seed=5)  # seeded
    assert low < v.mean() < high
    half = 1.96 * v.std(ddof=1) / math.sqrt(v.size)  # the normal-theory interval, for scale
    assert high - low == pytest.approx(2 * half, rel=0.1)
    assert stats.bootstrap_ci([4.0, 4.0, 4.0]) == (4.0, 4.0)
    assert all(math.isnan(x) for x in stats.bootstrap_ci([]))


def test_formats_never_negative_zero():
    assert stats.fmt(-0.00001) == "0.0000" and stats.fmt(-0.5) == "-0.5000"
    assert stats.fmt(math.nan) == ""
    assert stats.fmt_p(0.000123456) == "0.000123" and stats.fmt_p(1.0) == "1" and stats.fmt_p(math.nan) == ""


def _rows(values):
    """Result rows of methods {name: [value per image]} on the metric PCC."""
    rows = []
    for method, vals in values.items():
        for i, v in enumerate(vals):
            row = {"image": f"img{i}", "method": method, "seconds": 1.0}
            row.update({m: math.nan for m in report.metric_names()})
            row["PCC"] = v
            rows.append(row)
    return rows


def test_comparisons_family_and_csv(tmp_path):
    base = np.linspace(0.1, 0.8, 8)
    rows = _rows({"A": base + 0.1 + np.arange(8) * 0.01, "B": base, "C": base - 0.0})
    comp = [c for c in report.comparisons(rows, ["A", "B", "C"]) if c["metric"] == "PCC"]
    assert [(c["method_a"], c["method_b"]) for c in comp] == [("A", "B"), ("A", "C"), ("B", "C")]
    ab, ac, bc = comp
    assert ab["p_value"] == pytest.approx(2 / 256) and ab["effect_size"] == 1.0
    assert bc["n"] == 0 and math.isnan(bc["p_value"])
    assert ab["p_holm"] == pytest.approx(2 * 2 / 256)  # two tests in the family
    path = tmp_path / "comparisons.csv"
    report.write_comparisons_csv(path, comp)
    lines = path.read_text().splitlines()
    assert lines[0] == "metric,method_a,method_b,n,median_difference,statistic,p_value,p_holm,effect_size,note"
    assert lines[1].split(",")[6] == "0.00781"
    assert "-0.0" not in path.read_text()


def test_summary_has_intervals_and_flags_baselines():
    rows = _rows({"A": [0.2, 0.4, 0.6], "B": [0.1, 0.1, 0.1]})
    for r in rows:
        r.update(p_start=0.9 if r["image"] == "img1" else 0.1, p_end=0.0)
    summary = report.summarise(rows, ["A", "B"], seed=0)
    mean, std, low, high = summary[0]["PCC"]
    assert mean == pytest.approx(0.4) and 0.2 <= low < mean < high <= 0.6
    text = report.summary_markdown(summary, report.comparisons(rows, ["A", "B"]), rows)
    assert "[0." in text and "img1: p_start = 0.90" in text and "img0" not in text.split("Baseline check")[1]


def _entry(metric, p_value, p_holm, n=8):
    return {"metric": metric, "method_a": "A", "method_b": "B", "n": n, "median_difference": 0.1,
            "statistic": 1.0 if math.isfinite(p_value) else math.nan, "p_value": p_value, "p_holm": p_holm,
            "effect_size": 0.5, "note": "" if math.isfinite(p_value) else "n < 6"}


def test_the_tests_paragraph_says_what_follows_it():
    """No test at all (too few images): said so, with no table and no legend of one; more pairs than
    are listed and none significant: no 'listed below'; a few tests: each listed, with the legend."""
    untested = [_entry(f"M{i}", math.nan, math.nan, n=3) for i in range(3)]
    text = "\n".join(report._comparison_lines(untested))
    assert "no test: no pair of methods has 6 images with a non-zero difference" in text
    assert "| Metric |" not in text and "rank-biserial" not in text
    many = [_entry(f"M{i}", 0.5, 1.0) for i in range(report.MAX_LISTED_TESTS + 1)]
    text = "\n".join(report._comparison_lines(many))
    assert "101 tests, 0 with p_holm < 0.05 (every test is in comparisons.csv)." in text
    assert "listed below" not in text and "| Metric |" not in text and "rank-biserial" not in text
    many[0].update(p_value=0.001, p_holm=0.01)
    text = "\n".join(report._comparison_lines(many))
    assert "1 with p_holm < 0.05 (listed below; every test is in comparisons.csv)." in text
    assert "rank-biserial" in text and len(re.findall(r"^\| M\d+ \|", text, re.M)) == 1
    few = "\n".join(report._comparison_lines(untested[:1] + many[:2]))
    assert "2 tests" in few and len(re.findall(r"^\| M\d+ \|", few, re.M)) == 3 and "– (n < 6)" in few


@pytest.mark.parametrize("present, has, lacks", [
    (["CENTER", "RANDOM", "HUMAN"], ["CENTER (a centred Gaussian", "RANDOM (a smooth", "are floors", "HUMAN (the",
                                     "*_norm place it"], []),
    (["CENTER", "RANDOM"], ["are floors", "beats the floors."], ["HUMAN", "ceiling", "*_norm"]),
    (["CENTER"], ["CENTER (a centred Gaussian: the centre bias) is a floor", "beats the floor."],
     ["RANDOM", "HUMAN", "floors"]),
    (["HUMAN"], ["HUMAN (the agreement", "*_norm place a method"], ["floor", "CENTER", "RANDOM"]),
])
def test_the_reference_note_names_only_the_rows_the_table_has(present, has, lacks):
    text = report.reference_note(present)
    assert text.startswith("Reference rows (not methods, not tested): ")
    assert all(h in text for h in has), text
    assert not any(word in text for word in lacks), text


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
