"""Result tables: per image x method rows (CSV, appended as each image finishes), per method
mean ± std with Student-t confidence intervals (Markdown and CSV), paired Wilcoxon signed-rank
comparisons between methods with Holm's correction and effect sizes (core/stats.py).
"""
import csv
import io
import itertools
import math
from pathlib import Path

import numpy as np

from xai_mexculture.core import safe_io
from xai_mexculture.core import stats


INFO_COLUMNS = ["image", "method", "true_class", "target_class", "predicted_class", "confidence",
                "seconds", "deletion_baseline", "insertion_start"]


# Per image: the class probability of the full image, of the insertion start and of the fully
# deleted image (the baselines' own effect).
PROBABILITY_COLUMNS = ["p_full", "p_start", "p_end"]


# Per map: the split-half reliability of a stochastic method's map (empty for the others); last, a
# note saying why values are missing or what to distrust (flat map, class the model does not see).
RELIABILITY_COLUMN = "reliability"
NOTE_COLUMN = "note"
FLAT_NOTE = "flat map: no ranking"
UNSEEN_NOTE = "class not seen"
TEXT_COLUMNS = INFO_COLUMNS + [NOTE_COLUMN]


def flat_note() -> str:
    """The note of a map that ranks no pixel (image_io.is_flat): every metric of its row is empty."""
    import constants
    return f"{FLAT_NOTE} (its range is at most {constants.FLAT_TOLERANCE:g} of its maximum): no metric"


def unseen_note(p_full) -> str:
    """The note of a map of a class the model does not see on the full image."""
    import constants
    return (f"{UNSEEN_NOTE}: p = {p_full:.2g} < {constants.MIN_CLASS_PROBABILITY:g} on the full image "
            f"(the map explains noise)")


def is_flat(row) -> bool:
    return FLAT_NOTE in (row.get(NOTE_COLUMN) or "")


def is_unseen(row) -> bool:
    return UNSEEN_NOTE in (row.get(NOTE_COLUMN) or "")


def join_notes(*notes) -> str:
    return "; ".join(n for n in notes if n)


def metric_names() -> list:
    """The metric columns: every registered metric (metrics/registry.py), in registration order."""
    from xai_mexculture import metrics
    return metrics.names()


def columns() -> list:
    return INFO_COLUMNS + PROBABILITY_COLUMNS + [RELIABILITY_COLUMN] + metric_names() + [NOTE_COLUMN]


def append_rows(path, rows) -> None:
    """Append result rows (dicts) to a CSV in one write, flushed and fsynced (a crash leaves whole
    images or a cut last line, which `read_rows(..., repair=True)` drops), with the header when the
    file is new."""
    path = Path(path)
    new = not path.exists() or path.stat().st_size == 0
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(), extrasaction="ignore", lineterminator="\n")
    if new:
        writer.writeheader()
    writer.writerows(rows)
    safe_io.append_text(path, buffer.getvalue())


def read_rows(path, repair=False) -> list:
    """Rows of a results CSV (metric values as floats, NaN where empty); [] when absent.
    repair: first drop a last line cut by a crash."""
    path = Path(path)
    if not path.exists():
        return []
    if repair:
        safe_io.drop_partial_line(path)
    with path.open(newline="") as f:
        return _parse(list(csv.DictReader(f)))


def _parse(rows) -> list:
    numeric = [c for c in (rows[0] if rows else {}) if c not in TEXT_COLUMNS] + ["confidence", "seconds"]
    for row in rows:
        for key in numeric:
            value = row.get(key, "")
            row[key] = float(value) if value not in ("", None) else math.nan
        row[NOTE_COLUMN] = row.get(NOTE_COLUMN) or ""
    return rows


def as_read(rows) -> list:
    """Result rows as read_rows would give them back from results.csv (written and parsed again), so
    what the run draws equals what report.py redraws from the file."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer.seek(0)
    return _parse(list(csv.DictReader(buffer)))


def _values(rows, method, metric):
    return np.array([r.get(metric, math.nan) for r in rows if r["method"] == method], dtype=np.float64)


def summarise(rows, methods) -> list:
    """One dict per method: n (its informative maps), flat (its flat maps, which have no metric),
    mean seconds, reliability (mean, min) of its split-half reliabilities, and per metric (mean, std
    (ddof=1), CI low, CI high) over the images with a value, the CI being the 95% Student-t interval
    of the mean (stats.mean_ci; none below 3 values)."""
    out = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        flat = sum(1 for r in mine if is_flat(r))
        secs = _values(mine, method, "seconds")
        reliability = _values(mine, method, RELIABILITY_COLUMN)
        reliability = reliability[np.isfinite(reliability)]
        entry = {"method": method, "n": len(mine) - flat, "flat": flat,
                 "seconds": float(np.nanmean(secs)) if np.isfinite(secs).any() else math.nan,
                 "reliability": (float(reliability.mean()), float(reliability.min())) if reliability.size
                 else (math.nan, math.nan)}
        for metric in metric_names():
            v = _values(mine, method, metric)
            v = v[np.isfinite(v)]
            entry[metric] = (float(v.mean()) if v.size else math.nan,
                             float(v.std(ddof=1)) if v.size > 1 else math.nan) + stats.mean_ci(v)
        out.append(entry)
    return out


COMPARISON_COLUMNS = ["metric", "method_a", "method_b", "n", "median_difference", "statistic", "p_value",
                      "p_holm", "effect_size", "note"]


def comparisons(rows, methods) -> list:
    """Paired two-sided Wilcoxon signed-rank tests (stats.wilcoxon) between every two methods on
    every metric, over the images that have both values; Holm's correction across the tests of each
    metric that have a p-value. One dict per pair and metric (COMPARISON_COLUMNS)."""
    out = []
    for metric in metric_names():
        family = []
        for a, b in itertools.combinations(methods, 2):
            va = {r["image"]: r[metric] for r in rows if r["method"] == a and np.isfinite(r.get(metric, math.nan))}
            vb = {r["image"]: r[metric] for r in rows if r["method"] == b and np.isfinite(r.get(metric, math.nan))}
            common = sorted(set(va) & set(vb))
            if not common:
                continue
            diff = np.array([va[i] - vb[i] for i in common])
            test = stats.wilcoxon(diff)
            family.append({"metric": metric, "method_a": a, "method_b": b, "n": test["n"],
                           "median_difference": float(np.median(diff)), "statistic": test["statistic"],
                           "p_value": test["p_value"], "p_holm": math.nan, "effect_size": test["effect_size"],
                           "note": test["note"]})
        for entry, adjusted in zip(family, stats.holm([e["p_value"] for e in family])):
            entry["p_holm"] = float(adjusted)
        out += family
    return out


DIGITS = 3  # decimals of the summary's tables
FAMILY_TITLES = {"gaze": "Gaze metrics (the map against where people looked)",
                 "model": "Model metrics (the map against the model, and properties of the map)",
                 "human": "Human-normalised metrics (the map against the observers themselves)"}


# What a family's values mean, a sentence per metric (said only for the columns the table has).
FAMILY_ABOUT = {
    "gaze": [((), "How well the map predicts the human gaze (the GFDM and the fixations); an AUC of 0.5 is "
                  "chance.")],
    "model": [((), "How much the model's output depends on the pixels the map puts first."),
              (("Insertion", "Deletion"), "A high Insertion and a low Deletion AUC: the class comes back fast as "
                                          "those pixels are inserted and falls fast as they are deleted."),
              (("MuFidelity",), "MuFidelity correlates the saliency mass of random pixel subsets with the "
                                "probability drop when they are removed: it rewards values in proportion to each "
                                "region's effect, while Insertion and Deletion use only the order of the pixels, "
                                "so a map can order them well with values out of proportion (or the reverse) and "
                                "the two disagree."),
              (("Sparseness",), "Sparseness: how concentrated the map is (Gini index)."),
              (("MaxSensitivity",), "MaxSensitivity: how much the map changes under small input noise."),
              (("ROAD_MoRF", "ROAD_LeRF"), "ROAD: the class probability with the most (MoRF) or least (LeRF) "
                                           "relevant pixels imputed away.")],
    "human": [((), "The map scored like one more observer: the *_loo and *_split columns against the observers "
                   "left out (the HUMAN row: the observers' own agreement, the ceiling); *_norm place the method "
                   "between chance (0) and that ceiling (1).")]}


def family_about(family, columns) -> str:
    """What the values of a family's table mean, for the columns it has, and which are lower-is-better."""
    parts = [text for needs, text in FAMILY_ABOUT.get(family, []) if not needs or set(needs) & set(columns)]
    lower = [m for m in columns if not _direction_of(m)]
    parts.append("Higher is better" + (f" except {', '.join(lower)} (lower)." if lower else "."))
    return " ".join(parts)


CI_NOTE = ("Each cell: mean ± std (ddof = 1) [95% Student-t confidence interval of the mean: mean ± "
           "t(0.975, n − 1) · std / √n; \"n < 3\": too few values for one] over the images whose map is "
           "informative; n: those images, flat: maps that rank no pixel (no metric); reliability: the mean "
           "(and the lowest) split-half reliability of a stochastic method's maps.")


def _direction_of(metric) -> bool:
    """True when higher is better (unknown metrics too)."""
    from xai_mexculture import metrics
    try:
        return metrics.get(metric).higher_is_better
    except ValueError:
        return True


def best_methods(summary, comparisons, references=()) -> dict:
    """{metric: method} where one method (references aside) has the best mean of the column and
    differs significantly from every other method that has values (p_holm < 0.05 in `comparisons`,
    with its effect size on the better side)."""
    tests = {(c["metric"], c["method_a"], c["method_b"]): c for c in comparisons}
    out = {}
    for metric in metric_names():
        candidates = [s for s in summary if s["method"] not in references and math.isfinite(s[metric][0])]
        if len(candidates) < 2:
            continue
        higher = _direction_of(metric)
        best = (max if higher else min)(candidates, key=lambda s: s[metric][0])["method"]
        wins = True
        for other in (s["method"] for s in candidates if s["method"] != best):
            test, sign = tests.get((metric, best, other)), 1
            if test is None:
                test, sign = tests.get((metric, other, best)), -1
            effect = sign * float(test["effect_size"]) if test is not None else math.nan
            if test is None or not float(test["p_holm"]) < 0.05 or not (effect > 0 if higher else effect < 0):
                wins = False
                break
        if wins:
            out[metric] = best
    return out


def _cell(entry, best=False, bold=("**", "**")) -> tuple:
    """(value text, interval text) of one summary cell; the mean wrapped in `bold` when best."""
    mean, std, low, high = entry
    if not math.isfinite(mean):
        return "–", ""
    text = stats.fmt(mean, DIGITS)
    text = f"{bold[0]}{text}{bold[1]}" if best else text
    text += f" ± {stats.fmt(std, DIGITS)}" if math.isfinite(std) else ""
    interval = (f"[{stats.fmt(low, DIGITS)}, {stats.fmt(high, DIGITS)}]" if math.isfinite(low)
                else f"[n < {stats.MIN_CI_N}]")
    return text, interval


def summary_tables(summary, comparisons=(), references=(), bold=("**", "**")) -> list:
    """The summary as tables: the maps (n, flat, reliability, seconds per image), then one per
    metric family with values (gaze, model, human-normalised). Each {"title", "about", "head":
    [column], "rows": [(method, reference?, [(text, interval)])]}; the best method of a column
    (best_methods) has its mean wrapped in `bold`."""
    from xai_mexculture import metrics as registry
    best = best_methods(summary, comparisons, references)
    present = [m for m in registry.all_metrics() if any(math.isfinite(s[m.name][0]) for s in summary)]
    tables = [{"title": "Maps", "about": "", "head": ["n", "flat", "reliability", "s/image"], "rows": []}]
    for s in summary:
        mean, low = s["reliability"]
        reliability = f"{stats.fmt(mean, DIGITS)} (min {stats.fmt(low, DIGITS)})" if math.isfinite(mean) else "–"
        seconds = stats.fmt(s["seconds"], 2) or "–"
        tables[0]["rows"].append((s["method"], s["method"] in references,
                                  [(str(s["n"]), ""), (str(s["flat"]), ""), (reliability, ""), (seconds, "")]))
    for family in registry.FAMILIES:
        columns = [m.name for m in present if m.table() == family]
        if not columns:
            continue
        table = {"title": FAMILY_TITLES[family], "about": family_about(family, columns),
                 "head": [f"{m} {'↑' if _direction_of(m) else '↓'}" for m in columns], "rows": []}
        for s in summary:
            if any(math.isfinite(s[m][0]) for m in columns):
                table["rows"].append((s["method"], s["method"] in references,
                                      [_cell(s[m], best.get(m) == s["method"], bold) for m in columns]))
        tables.append(table)
    return tables


def _markdown_table(table) -> list:
    lines = [f"**{table['title']}**" + (f" {table['about']}" if table["about"] else ""), "",
             "| Method | " + " | ".join(table["head"]) + " |", "|---|" + "---|" * len(table["head"])]
    for method, reference, cells in table["rows"]:
        name = f"*{method}* (reference)" if reference else method
        lines.append(f"| {name} | " + " | ".join((t + (" " + i if i else "")) for t, i in cells) + " |")
    return lines + [""]


MAX_LISTED_TESTS = 100  # summary.md lists every test up to this many, else only the significant ones


def _comparison_lines(comparisons) -> list:
    tested = [c for c in comparisons if math.isfinite(c["p_value"])]
    significant = [c for c in tested if c["p_holm"] < 0.05]
    head = (f"Paired Wilcoxon signed-rank tests (two-sided, zero differences dropped; n = non-zero differences; "
            f"no test below {stats.MIN_PAIRS}), Holm-corrected within each metric: ")
    if not tested:
        return ["", head + f"no test: no pair of methods has {stats.MIN_PAIRS} images with a non-zero "
                f"difference (more images are needed); the pairs are in comparisons.csv.", ""]
    listed = comparisons if len(comparisons) <= MAX_LISTED_TESTS else significant
    where = ("" if listed is comparisons else
             " (listed below; every test is in comparisons.csv)" if listed else " (every test is in comparisons.csv)")
    lines = ["", head + f"{len(tested)} tests, {len(significant)} with p_holm < 0.05{where}."]
    if not listed:
        return lines + [""]
    lines += ["r: matched-pairs rank-biserial correlation of A - B (+1: A larger on every image).", ""]
    lines += ["| Metric | A | B | n | median(A - B) | W | p | p (Holm) | r |", "|---|---|---|---|---|---|---|---|---|"]
    for c in listed:
        p = stats.fmt_p(c["p_value"]) or f"– ({c['note']})"
        w = stats.fmt(c["statistic"], 1) or "–"
        lines.append(f"| {c['metric']} | {c['method_a']} | {c['method_b']} | {c['n']} | "
                     f"{stats.fmt(c['median_difference'])} | {w} | {p} | {stats.fmt_p(c['p_holm']) or '–'} | "
                     f"{stats.fmt(c['effect_size'], 3) or '–'} |")
    return lines


def baseline_lines(rows, threshold=0.5) -> list:
    """Images where a baseline alone keeps the explained class above `threshold`: the insertion
    start (p_start) or the fully deleted image (p_end). Their causal scores measure the baseline as
    much as the map."""
    flagged = {}
    for r in rows:
        reasons = [f"{col} = {r[col]:.2f}" for col in ("p_start", "p_end")
                   if math.isfinite(r.get(col, math.nan)) and r[col] > threshold]
        if reasons:
            flagged[r["image"]] = reasons
    if not flagged:
        return []
    lines = ["", f"Baseline check: on {len(flagged)} image(s) the explained class keeps a probability above "
                 f"{threshold} from a baseline alone (p_start: the insertion start, p_end: the fully deleted "
                 f"image), so Insertion / Deletion there partly measure the baseline:", ""]
    lines += [f"- {name}: {', '.join(reasons)}" for name, reasons in sorted(flagged.items())]
    return lines


FLOORS = {"CENTER": "a centred Gaussian: the centre bias", "RANDOM": "a smooth seeded random map"}


def reference_note(present) -> str:
    """What the reference rows `present` are: the floors (CENTER, RANDOM, other references) and the
    HUMAN ceiling, each named only when the table has it."""
    from xai_mexculture.metrics import references as refs
    floors = [f"{name} ({FLOORS[name]})" if name in FLOORS else name for name in present if name != refs.HUMAN]
    parts = []
    if floors:
        parts.append(", ".join(floors[:-1]) + (" and " if len(floors) > 1 else "") + floors[-1]
                     + (" are floors" if len(floors) > 1 else " is a floor"))
    if refs.HUMAN in present:
        parts.append(f"{refs.HUMAN} (the agreement of the observers with each other, leave-one-out and split-half, "
                     f"from the scanpaths) is the ceiling of the like-for-like columns (*_loo, *_split)")
    advice = ([f"A method is worth its score only where it beats the floor{'s' if len(floors) > 1 else ''}"]
              if floors else [])
    if refs.HUMAN in present:
        advice.append(f"*_norm place {'it' if floors else 'a method'} between chance (0) and the ceiling (1)")
    return ("Reference rows (not methods, not tested): " + "; ".join(parts) + "."
            + (" " + "; ".join(advice) + "." if advice else ""))


def listed_lines(rows) -> list:
    """The images to look at: flat maps, maps with a split-half reliability below
    constants.MIN_RELIABILITY (more samples needed) and images whose explained class the model does
    not see (p_full below constants.MIN_CLASS_PROBABILITY)."""
    import constants
    out = []
    flat, unreliable, unseen = {}, {}, {}
    for r in rows:
        if is_flat(r):
            flat.setdefault(r["method"], []).append(r["image"])
        value = r.get(RELIABILITY_COLUMN, math.nan)
        if isinstance(value, float) and math.isfinite(value) and value < constants.MIN_RELIABILITY:
            unreliable.setdefault(r["method"], []).append(f"{r['image']} ({value:.2f})")
        if is_unseen(r):
            unseen[r["image"]] = r.get("p_full", math.nan)
    if flat:
        out += ["", "Flat maps (they rank no pixel: no metric, not counted in n):", ""]
        out += [f"- {method}: {', '.join(images)}" for method, images in flat.items()]
    if unreliable:
        out += ["", f"Split-half reliability below {constants.MIN_RELIABILITY} (more samples needed: "
                    f"--rise_masks, --lime_samples, --smoothgrad_samples):", ""]
        out += [f"- {method}: {', '.join(images)}" for method, images in unreliable.items()]
    if unseen:
        out += ["", f"Class not seen: the model gives the explained class p < {constants.MIN_CLASS_PROBABILITY:g} "
                    f"on the full image, so its maps explain noise:", ""]
        out += [f"- {image}: p = {p:.2g}" for image, p in unseen.items()]
    return out


def summary_markdown(summary, comparisons=(), rows=(), notes=(), references=()) -> str:
    """The report's tables (summary_tables: the `references` rows marked and last), the
    comparisons, the images to look at and the baseline check of `rows`, and any further `notes`
    (lines)."""
    if not summary:
        return "No image completed: no summary.\n"
    lines = []
    for table in summary_tables(summary, comparisons, references):
        lines += _markdown_table(table)
    lines.append(CI_NOTE + " **Bold**: the best method of the column, significantly different from every "
                 "other method (paired Wilcoxon signed-rank tests, Holm-corrected, p < 0.05).")
    lines.append("s/image: the mean seconds per image (the first image's include the compilation of the "
                 "method's compiled calls).")
    present = [s["method"] for s in summary if s["method"] in references]
    if present:
        lines += ["", reference_note(present)]
    if comparisons:
        lines += _comparison_lines(comparisons)
    lines += listed_lines(rows)
    lines += baseline_lines(rows)
    lines += list(notes)
    return "\n".join(lines) + "\n"


def _full(value) -> str:
    """A CSV number at full precision ('' when not finite; -0.0 written as 0.0)."""
    return repr(float(value) + 0.0) if math.isfinite(value) else ""


SUMMARY_PARTS = ("mean", "std", "ci_low", "ci_high")


def write_summary_csv(path, summary) -> None:
    """Per method: n (informative maps), flat, reliability_mean, reliability_min, then mean, std,
    ci_low, ci_high (the Student-t interval; empty below 3 values) of each metric, then seconds per
    image."""
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        names = metric_names()
        writer.writerow(["method", "n", "flat", "reliability_mean", "reliability_min"]
                        + [f"{m}_{k}" for m in names for k in SUMMARY_PARTS] + ["seconds_per_image"])
        for s in summary:
            writer.writerow([s["method"], s["n"], s["flat"]] + [_full(v) for v in s["reliability"]]
                            + [_full(v) for m in names for v in s[m]] + [_full(s['seconds'])])


def read_summary_csv(path) -> list:
    """summary.csv back as `summarise` gives it ([] when absent); a summary of an earlier version
    (no flat or reliability columns) reads with none."""
    path = Path(path)
    if not path.is_file():
        return []

    def number(text):
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan

    def count(text):
        value = number(text)
        return int(value) if math.isfinite(value) else 0
    with path.open(newline="") as f:
        out = []
        for r in csv.DictReader(f):
            entry = {"method": r["method"], "n": count(r.get("n")), "flat": count(r.get("flat")),
                     "seconds": number(r.get("seconds_per_image")),
                     "reliability": (number(r.get("reliability_mean")), number(r.get("reliability_min")))}
            entry.update({m: tuple(number(r.get(f"{m}_{k}")) for k in SUMMARY_PARTS) for m in metric_names()})
            out.append(entry)
    return out


def write_comparisons_csv(path, comparisons) -> None:
    """comparisons.csv: COMPARISON_COLUMNS; p-values in 3 significant digits, empty where no test ran."""
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COMPARISON_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for c in comparisons:
            writer.writerow({**c, "median_difference": _full(c["median_difference"]),
                             "statistic": stats.fmt(c["statistic"], 1), "p_value": stats.fmt_p(c["p_value"]),
                             "p_holm": stats.fmt_p(c["p_holm"]), "effect_size": stats.fmt(c["effect_size"], 4)})


def write_tables(out_dir, rows, methods, references) -> str:
    """summary.md, summary.csv and comparisons.csv of `rows` (the methods, then the `references` rows
    marked), with the sanity check's paragraph when OUT/sanity.csv exists; returns summary.md's text."""
    from xai_mexculture.metrics import sanity
    out_dir = Path(out_dir)
    summary = summarise(rows, list(methods) + list(references))
    compared = comparisons(rows, methods) if len(methods) > 1 else []
    sanity_rows = sanity.read_rows(out_dir / "sanity.csv")
    notes = ["", sanity.summary_text(sanity_rows).rstrip("\n")] if sanity_rows else []
    text = summary_markdown(summary, compared, rows, notes=notes, references=references)
    incomplete = read_manifest(out_dir).get("incomplete")  # a merge that left shards or images out
    if incomplete:
        text = f"**Incomplete.** {incomplete}\n\n{text}"
    safe_io.write_text(out_dir / "summary.md", text)
    write_summary_csv(out_dir / "summary.csv", summary)
    write_comparisons_csv(out_dir / "comparisons.csv", compared)
    return text


def read_manifest(out_dir) -> dict:
    """manifest.json of a run ({} when absent or unreadable)."""
    import json
    try:
        return json.loads((Path(out_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def run_rows(out_dir, rows) -> tuple:
    """(methods, references) of a finished, resumed or merged run: the manifest's methods and
    references, and those found in results.csv."""
    from xai_mexculture.metrics import references as refs
    manifest = read_manifest(out_dir)
    params = manifest.get("parameters", {})
    found = list(dict.fromkeys(r["method"] for r in rows))
    methods = [m for m in list(manifest.get("methods", [])) + found if not refs.is_reference(m)]
    listed = params.get("references", refs.names())
    references = [r for r in list(listed if isinstance(listed, list) else []) + found if refs.is_reference(r)
                  and r != refs.HUMAN] + [refs.HUMAN]
    return list(dict.fromkeys(methods)), list(dict.fromkeys(references))
