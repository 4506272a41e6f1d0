"""The summary's statistics: hand-computed Wilcoxon tests, Holm's correction, effect sizes,
bootstrap intervals and the number formats."""
import math
import re

import numpy as np
import pytest
from scipy import stats as sp

from xai_mexculture.results import tables


def _rows(values):
    """Result rows of methods {name: [value per image]} on the metric PCC."""
    rows = []
    for method, vals in values.items():
        for i, v in enumerate(vals):
            row = {"image": f"img{i}", "method": method, "seconds": 1.0}
            row.update({m: math.nan for m in tables.metric_names()})
            row["PCC"] = v
            rows.append(row)
    return rows


def test_comparisons_family_and_csv(tmp_path):
    base = np.linspace(0.1, 0.8, 8)
    rows = _rows({"A": base + 0.1 + np.arange(8) * 0.01, "B": base, "C": base - 0.0})
    comp = [c for c in tables.comparisons(rows, ["A", "B", "C"]) if c["metric"] == "PCC"]
    assert [(c["method_a"], c["method_b"]) for c in comp] == [("A", "B"), ("A", "C"), ("B", "C")]
    ab, ac, bc = comp
    assert ab["p_value"] == pytest.approx(2 / 256) and ab["effect_size"] == 1.0
    assert bc["n"] == 0 and math.isnan(bc["p_value"])
    assert ab["p_holm"] == pytest.approx(2 * 2 / 256)  # two tests in the family
    path = tmp_path / "comparisons.csv"
    tables.write_comparisons_csv(path, comp)
    lines = path.read_text().splitlines()
    assert lines[0] == "metric,method_a,method_b,n,median_difference,statistic,p_value,p_holm,effect_size,note"
    assert lines[1].split(",")[6] == "0.00781"
    assert "-0.0" not in path.read_text()


def test_summary_has_t_intervals_and_flags_baselines():
    rows = _rows({"A": [0.2, 0.4, 0.6], "B": [0.1, 0.1, 0.1]})
    for r in rows:
        r.update(p_start=0.9 if r["image"] == "img1" else 0.1, p_end=0.0)
    summary = tables.summarise(rows, ["A", "B"])
    mean, std, low, high = summary[0]["PCC"]
    assert (low, high) == pytest.approx(sp.t.interval(0.95, 2, loc=0.4, scale=0.2 / math.sqrt(3)))
    assert low < 0.2 and high > 0.6  # wider than the data's range at n = 3 (the bootstrap gave the range)
    text = tables.summary_markdown(summary, tables.comparisons(rows, ["A", "B"]), rows)
    assert "| A | 0.400 ± 0.200 [-0.097, 0.897] |" in text
    assert "img1: p_start = 0.90" in text and "img0" not in text.split("Baseline check")[1]
    two = tables.summarise(_rows({"A": [0.7784, 0.8057]}), ["A"])  # two values: no interval at all
    assert all(math.isnan(x) for x in two[0]["PCC"][2:])
    assert "| A | 0.792 ± 0.019 [n < 3] |" in tables.summary_markdown(two)


def _noted(rows, image, method, **values):
    for r in rows:
        if r["image"] == image and r["method"] == method:
            r.update(values)
    return rows


def test_flat_maps_are_counted_apart_and_left_out_of_the_means():
    """A flat map's row has no value and its note; n counts the informative maps, flat the others;
    the mean is that of the informative maps (a flat map scored 0 pulled GRADCAM to 0.0000)."""
    rows = _rows({"GRADCAM": [0.5, 0.7, math.nan], "RISE": [0.2, 0.4, 0.6]})
    _noted(rows, "img2", "GRADCAM", note=tables.flat_note())
    summary = {s["method"]: s for s in tables.summarise(rows, ["GRADCAM", "RISE"])}
    assert (summary["GRADCAM"]["n"], summary["GRADCAM"]["flat"]) == (2, 1)
    assert (summary["RISE"]["n"], summary["RISE"]["flat"]) == (3, 0)
    assert summary["GRADCAM"]["PCC"][0] == pytest.approx(0.6)
    text = tables.summary_markdown(list(summary.values()), rows=rows)
    assert "| GRADCAM | 2 | 1 | – |" in text  # n, flat, reliability
    assert "- GRADCAM: img2" in text.split("Flat maps")[1]


def test_reliability_means_and_the_images_that_need_more_samples():
    rows = _rows({"RISE": [0.2, 0.4, 0.6], "GRADCAM": [0.1, 0.2, 0.3]})
    for image, value in (("img0", 0.99), ("img1", 0.95), ("img2", 0.5)):
        _noted(rows, image, "RISE", reliability=value)
    summary = tables.summarise(rows, ["RISE", "GRADCAM"])
    assert summary[0]["reliability"] == pytest.approx(((0.99 + 0.95 + 0.5) / 3, 0.5))
    assert all(math.isnan(x) for x in summary[1]["reliability"])
    text = tables.summary_markdown(summary, rows=rows)
    assert "| RISE | 3 | 0 | 0.813 (min 0.500) |" in text
    listed = text.split("more samples needed")[1].splitlines()
    assert "- RISE: img2 (0.50)" in listed and not any("img0" in line or "img1" in line for line in listed)


def test_images_whose_class_the_model_does_not_see_are_listed():
    rows = _rows({"RISE": [0.2, 0.4, 0.6]})
    _noted(rows, "img1", "RISE", p_full=3e-7, note=tables.unseen_note(3e-7))
    assert tables.is_unseen(rows[1]) and not tables.is_unseen(rows[0])
    text = tables.summary_markdown(tables.summarise(rows, ["RISE"]), rows=rows)
    assert "- img1: p = 3e-07" in text.split("Class not seen")[1]


def test_the_summary_is_split_by_metric_family_and_marks_a_significant_best():
    """Gaze, model and human-normalised metrics in their own tables; the best mean of a column in
    bold only where it differs significantly (Holm) from every other method."""
    base = np.linspace(0.1, 0.8, 8)
    rows = _rows({"A": base + 0.1 + np.arange(8) * 0.01, "B": base, "C": base - 0.05 - np.arange(8) * 0.01})
    for r in rows:
        r["Deletion"] = 0.3  # a tie: no best
        r["NSS_norm"] = r["PCC"]
    summary = tables.summarise(rows, ["A", "B", "C"])
    compared = tables.comparisons(rows, ["A", "B", "C"])
    assert tables.best_methods(summary, compared) == {"PCC": "A", "NSS_norm": "A"}
    found = tables.summary_tables(summary, compared)
    assert [t["title"].split(" (")[0] for t in found] == ["Maps", "Gaze metrics", "Model metrics",
                                                          "Human-normalised metrics"]
    assert found[1]["head"] == ["PCC ↑"] and found[2]["head"] == ["Deletion ↓"]
    # each table says what its values mean, naming only its own columns
    assert "Deletion AUC" in found[2]["about"] and "MuFidelity" not in found[2]["about"]
    assert found[2]["about"].endswith("Higher is better except Deletion (lower).")
    text = tables.summary_markdown(summary, compared, rows)
    assert "| A | **0.585** ± " in text and "| B | 0.450 ± " in text
    assert "**0.300**" not in text
    # without the test against C, A is not marked
    assert "PCC" not in tables.best_methods(summary, [c for c in compared if c["method_b"] != "C"])


def _entry(metric, p_value, p_holm, n=8):
    return {"metric": metric, "method_a": "A", "method_b": "B", "n": n, "median_difference": 0.1,
            "statistic": 1.0 if math.isfinite(p_value) else math.nan, "p_value": p_value, "p_holm": p_holm,
            "effect_size": 0.5, "note": "" if math.isfinite(p_value) else "n < 6"}


def test_the_tests_paragraph_says_what_follows_it():
    """No test at all (too few images): said so, with no table and no legend of one; more pairs than
    are listed and none significant: no 'listed below'; a few tests: each listed, with the legend."""
    untested = [_entry(f"M{i}", math.nan, math.nan, n=3) for i in range(3)]
    text = "\n".join(tables._comparison_lines(untested))
    assert "no test: no pair of methods has 6 images with a non-zero difference" in text
    assert "| Metric |" not in text and "rank-biserial" not in text
    many = [_entry(f"M{i}", 0.5, 1.0) for i in range(tables.MAX_LISTED_TESTS + 1)]
    text = "\n".join(tables._comparison_lines(many))
    assert "101 tests, 0 with p_holm < 0.05 (every test is in comparisons.csv)." in text
    assert "listed below" not in text and "| Metric |" not in text and "rank-biserial" not in text
    many[0].update(p_value=0.001, p_holm=0.01)
    text = "\n".join(tables._comparison_lines(many))
    assert "1 with p_holm < 0.05 (listed below; every test is in comparisons.csv)." in text
    assert "rank-biserial" in text and len(re.findall(r"^\| M\d+ \|", text, re.M)) == 1
    few = "\n".join(tables._comparison_lines(untested[:1] + many[:2]))
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
    text = tables.reference_note(present)
    assert text.startswith("Reference rows (not methods, not tested): ")
    assert all(h in text for h in has), text
    assert not any(word in text for word in lacks), text
