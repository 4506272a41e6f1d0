"""Result tables: per image x method rows (CSV, appended as each image finishes), per method
mean ± std with bootstrap confidence intervals (Markdown and CSV), paired Wilcoxon signed-rank
comparisons between methods with Holm's correction and effect sizes (stats.py); and the rebuild of
a run's tables, plots, per-image figures and report.html from its saved results alone:

    python report.py OUT                          # a finished, resumed or merged run; no model needed
    python report.py OUT --figure_format pdf      # the figures and plots again, as PDF
"""
import csv
import io
import itertools
import math
from pathlib import Path

import numpy as np

import safe_io
import stats

INFO_COLUMNS = ["image", "method", "true_class", "target_class", "predicted_class", "confidence",
                "seconds", "deletion_baseline", "insertion_start"]
# Per image: the class probability of the full image, of the insertion start and of the fully
# deleted image (the baselines' own effect).
PROBABILITY_COLUMNS = ["p_full", "p_start", "p_end"]


def metric_names() -> list:
    """The metric columns: every registered metric (metrics.py), in registration order."""
    import metrics
    return metrics.names()


def columns() -> list:
    return INFO_COLUMNS + PROBABILITY_COLUMNS + metric_names()


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
    numeric = [c for c in (rows[0] if rows else {}) if c not in INFO_COLUMNS] + ["confidence", "seconds"]
    for row in rows:
        for key in numeric:
            value = row.get(key, "")
            row[key] = float(value) if value not in ("", None) else math.nan
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


def summarise(rows, methods, seed=0) -> list:
    """One dict per method: n images, mean seconds, and per metric (mean, std (ddof=1), CI low,
    CI high), the CI being the 95% percentile bootstrap of the mean (10,000 resamples, seeded)."""
    out = []
    for method in methods:
        n = sum(1 for r in rows if r["method"] == method)
        if n == 0:
            continue
        secs = _values(rows, method, "seconds")
        entry = {"method": method, "n": n,
                 "seconds": float(np.nanmean(secs)) if np.isfinite(secs).any() else math.nan}
        for metric in metric_names():
            v = _values(rows, method, metric)
            v = v[np.isfinite(v)]
            entry[metric] = (float(v.mean()) if v.size else math.nan,
                             float(v.std(ddof=1)) if v.size > 1 else math.nan) + stats.bootstrap_ci(v, seed)
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


def _fmt(entry):
    mean, std, low, high = entry
    if not math.isfinite(mean):
        return "–"
    text = stats.fmt(mean) + (f" ± {stats.fmt(std)}" if math.isfinite(std) else "")
    return text + (f" [{stats.fmt(low)}, {stats.fmt(high)}]" if math.isfinite(low) and low != high else "")


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
    import references as refs
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


def summary_markdown(summary, comparisons=(), rows=(), notes=(), references=()) -> str:
    """The report's table (one row per method, one column per metric; the `references` rows marked
    and last), the comparisons, the baseline check of `rows` and any further `notes` (lines)."""
    if not summary:
        return "No image completed: no summary.\n"
    metrics = [m for m in metric_names() if any(math.isfinite(s[m][0]) for s in summary)]
    lines = ["| Method | n | " + " | ".join(metrics) + " | s/image |",
             "|---|---|" + "---|" * len(metrics) + "---|"]
    for s in summary:
        name = f"*{s['method']}* (reference)" if s["method"] in references else s["method"]
        seconds = f"{s['seconds']:.2f}" if math.isfinite(s["seconds"]) else "–"
        lines.append(f"| {name} | {s['n']} | " + " | ".join(_fmt(s[m]) for m in metrics) + f" | {seconds} |")
    lines.append("")
    import metrics as registry
    lower = [m for m in registry.lower_is_better() if m in metrics]
    lines.append("mean ± std (ddof=1) [95% percentile-bootstrap confidence interval of the mean, 10,000 "
                 "resamples] over images; higher is better except "
                 + (", ".join(lower) if lower else "none") + " (lower is better).")
    lines.append("s/image: the mean seconds per image (the first image's include the compilation of the "
                 "method's compiled calls).")
    present = [s["method"] for s in summary if s["method"] in references]
    if present:
        lines += ["", reference_note(present)]
    if comparisons:
        lines += _comparison_lines(comparisons)
    lines += baseline_lines(rows)
    lines += list(notes)
    return "\n".join(lines) + "\n"


def _full(value) -> str:
    """A CSV number at full precision ('' when not finite; -0.0 written as 0.0)."""
    return repr(float(value) + 0.0) if math.isfinite(value) else ""


def write_summary_csv(path, summary) -> None:
    """Per method: n, then mean, std, ci_low, ci_high of each metric, then seconds per image."""
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        names = metric_names()
        writer.writerow(["method", "n"] + [f"{m}_{k}" for m in names for k in ("mean", "std", "ci_low", "ci_high")]
                        + ["seconds_per_image"])
        for s in summary:
            writer.writerow([s["method"], s["n"]] + [_full(v) for m in names for v in s[m]]
                            + [_full(s['seconds'])])


def write_comparisons_csv(path, comparisons) -> None:
    """comparisons.csv: COMPARISON_COLUMNS; p-values in 3 significant digits, empty where no test ran."""
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COMPARISON_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for c in comparisons:
            writer.writerow({**c, "median_difference": _full(c["median_difference"]),
                             "statistic": stats.fmt(c["statistic"], 1), "p_value": stats.fmt_p(c["p_value"]),
                             "p_holm": stats.fmt_p(c["p_holm"]), "effect_size": stats.fmt(c["effect_size"], 4)})


# --------------------------------------------------------------------------- rebuilding from the saved results
def write_tables(out_dir, rows, methods, references, seed=0) -> str:
    """summary.md, summary.csv and comparisons.csv of `rows` (the methods, then the `references` rows
    marked), with the sanity check's paragraph when OUT/sanity.csv exists; returns summary.md's text."""
    import sanity
    out_dir = Path(out_dir)
    summary = summarise(rows, list(methods) + list(references), seed=seed)
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
    """(methods, references, seed) of a finished, resumed or merged run: the manifest's methods and
    references, and those found in results.csv."""
    import references as refs
    import style
    manifest = read_manifest(out_dir)
    params = manifest.get("parameters", {})
    found = list(dict.fromkeys(r["method"] for r in rows))
    methods = [m for m in list(manifest.get("methods", [])) + found if not style.is_reference(m)]
    listed = params.get("references", refs.names())
    references = [r for r in list(listed if isinstance(listed, list) else []) + found if style.is_reference(r)
                  and r != refs.HUMAN] + [refs.HUMAN]
    return list(dict.fromkeys(methods)), list(dict.fromkeys(references)), int(params.get("seed", 0) or 0)


def rebuild(out_dir, display_type="grid", figure_format="png", images=True, progress=True, show=False,
            pool=None) -> dict:
    """The run plots (plots.py), with `images` every image's figures redrawn from the saved arrays
    (figures.draw_saved), and report.html (html_report.py), from OUT's files alone; display_type
    "none": no figure and no plot, only the page; pool: a pipeline.HostPool that draws the run plots
    side by side. Images whose arrays were not saved (a run of an
    earlier version) keep the figures they have. Returns
    {"images": redrawn, "unsaved": [image names], "plots": [...], "page": path}."""
    import figures
    import html_report
    import plots
    import saved
    from tqdm import tqdm
    out_dir = Path(out_dir)
    rows = read_rows(out_dir / "results.csv")
    names = list(dict.fromkeys(r["image"] for r in rows))
    redrawn, unsaved = 0, []
    if images and display_type != "none":
        for name in tqdm(names, unit="image", desc="figures", disable=not progress, dynamic_ncols=True):
            methods = [r["method"] for r in rows if r["image"] == name]
            if saved.missing(out_dir, name) or not any((out_dir / "maps" / f"{saved.stem(name)}_{m}.npy").is_file()
                                                       for m in methods):
                unsaved.append(name)
                continue
            figures.draw_saved(out_dir, name, rows, display_type, figure_format, show)
            redrawn += 1
    made = plots.save_run_plots(out_dir, rows, figure_format, pool) if display_type != "none" else []
    page = html_report.write_page(out_dir, rows, made, display_type, figure_format)
    return dict(images=redrawn, unsaved=unsaved, plots=made, page=page)


def main(argv=None) -> int:
    """python report.py OUT: rebuild the tables, plots, figures and report.html of a run folder."""
    import logging
    import sys
    import cli
    import runlock
    import style
    p = cli.ArgumentParser(prog="report.py", description="Rebuild the tables (summary.md, summary.csv, comparisons.csv), the "
                                            "run plots, every image's figures and report.html of a run's output "
                                            "folder from its saved results alone (no model needed).")
    p.add_argument("out", help="a run's output folder (with results.csv)")
    p.add_argument("--display_type", choices=["grid", "singles", "none"], default=None,
                   help="per-image figures (default: the run's, from manifest.json)")
    p.add_argument("--figure_format", choices=list(style.FORMATS), default=None,
                   help="format of the figures and plots (default: the run's, from manifest.json)")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    out = Path(args.out)
    if not out.is_dir():
        what = "is a file, not a folder: give a run's output folder (the one that holds results.csv)" \
            if out.exists() else "no such folder"
        print(f"error: {out}: {what}", file=sys.stderr)
        return 2
    if not (out / "results.csv").is_file():
        print(f"error: {out} is not a run's output folder (no results.csv); give the --output_dir of a run of "
              f"main.py", file=sys.stderr)
        return 2
    params = read_manifest(out).get("parameters", {})
    if not params:
        print(f"warning: {out}: no readable manifest.json; using the defaults (grid, png, seed 0)", file=sys.stderr)
    display_type = args.display_type or params.get("display_type", "grid")
    figure_format = args.figure_format or params.get("figure_format", "png")
    try:
        with runlock.RunLock(out):
            rows = read_rows(out / "results.csv")
            if not rows:
                print(f"error: {out / 'results.csv'} has no rows: nothing to report", file=sys.stderr)
                return 2
            methods, references, seed = run_rows(out, rows)
            write_tables(out, rows, methods, references, seed)
            result = rebuild(out, display_type, figure_format, progress=not args.no_progress)
    except (runlock.FolderLocked, runlock.FolderUnwritable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result["unsaved"]:
        print(f"{len(result['unsaved'])} image(s) have no saved inputs, GFDM or curves (a run of an earlier version): "
              f"their figures were not redrawn: {', '.join(result['unsaved'][:5])}"
              f"{', ...' if len(result['unsaved']) > 5 else ''}")
    print(f"{result['images']} image(s) redrawn, {len(result['plots'])} plot(s); open {result['page'].resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
