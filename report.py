"""Result tables: per image x method rows (CSV, appended as each image finishes), per method
mean ± std (Markdown and CSV), paired Wilcoxon signed-rank comparisons between methods."""
import csv
import io
import itertools
import math
from pathlib import Path

import numpy as np

import safe_io

INFO_COLUMNS = ["image", "method", "true_class", "target_class", "predicted_class", "confidence",
                "seconds"]


def metric_names() -> list:
    """The metric columns: every registered metric (metrics.py), in registration order."""
    import metrics
    return metrics.names()


def columns() -> list:
    return INFO_COLUMNS + metric_names()


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
        rows = list(csv.DictReader(f))
    numeric = [c for c in (rows[0] if rows else {}) if c not in INFO_COLUMNS] + ["confidence", "seconds"]
    for row in rows:
        for key in numeric:
            value = row.get(key, "")
            row[key] = float(value) if value not in ("", None) else math.nan
    return rows


def _values(rows, method, metric):
    return np.array([r.get(metric, math.nan) for r in rows if r["method"] == method], dtype=np.float64)


def summarise(rows, methods) -> list:
    """One dict per method: n images, mean and std (ddof=1) of each metric, mean seconds."""
    out = []
    for method in methods:
        n = sum(1 for r in rows if r["method"] == method)
        if n == 0:
            continue
        entry = {"method": method, "n": n, "seconds": float(np.nanmean(_values(rows, method, "seconds")))}
        for metric in metric_names():
            v = _values(rows, method, metric)
            v = v[np.isfinite(v)]
            entry[metric] = (float(v.mean()) if v.size else math.nan,
                             float(v.std(ddof=1)) if v.size > 1 else math.nan)
        out.append(entry)
    return out


def wilcoxon_comparisons(rows, methods) -> list:
    """Paired two-sided Wilcoxon signed-rank tests between every two methods on every metric,
    over the images that have both. Returns dicts (metric, a, b, n, median difference a - b, p)."""
    from scipy.stats import wilcoxon
    out = []
    for metric in metric_names():
        for a, b in itertools.combinations(methods, 2):
            va = {r["image"]: r[metric] for r in rows if r["method"] == a and np.isfinite(r.get(metric, math.nan))}
            vb = {r["image"]: r[metric] for r in rows if r["method"] == b and np.isfinite(r.get(metric, math.nan))}
            common = sorted(set(va) & set(vb))
            if not common:
                continue
            diff = np.array([va[i] - vb[i] for i in common])
            p = math.nan
            if np.any(diff != 0):
                p = float(wilcoxon(diff).pvalue)
            out.append({"metric": metric, "a": a, "b": b, "n": len(common),
                        "median_diff": float(np.median(diff)), "p": p})
    return out


def _fmt(mean_std):
    mean, std = mean_std
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.4f} ± {std:.4f}" if math.isfinite(std) else f"{mean:.4f}"


def summary_markdown(summary, comparisons=()) -> str:
    """The report's table (one row per method, one column per metric) and the comparisons."""
    if not summary:
        return "No image completed: no summary.\n"
    metrics = [m for m in metric_names() if any(math.isfinite(s[m][0]) for s in summary)]
    lines = ["| Method | n | " + " | ".join(metrics) + " | s/image |",
             "|---|---|" + "---|" * len(metrics) + "---|"]
    for s in summary:
        lines.append(f"| {s['method']} | {s['n']} | " + " | ".join(_fmt(s[m]) for m in metrics)
                     + f" | {s['seconds']:.2f} |")
    lines.append("")
    import metrics as registry
    lower = [m for m in registry.lower_is_better() if m in metrics]
    lines.append("mean ± std (ddof=1) over images; higher is better except "
                 + (", ".join(lower) if lower else "none") + " (lower is better).")
    if comparisons:
        lines += ["", "Paired Wilcoxon signed-rank tests (two-sided):", "",
                  "| Metric | A | B | n | median(A - B) | p |", "|---|---|---|---|---|---|"]
        for c in comparisons:
            p = f"{c['p']:.4g}" if math.isfinite(c["p"]) else "– (all equal)"
            lines.append(f"| {c['metric']} | {c['a']} | {c['b']} | {c['n']} | {c['median_diff']:+.4f} | {p} |")
    return "\n".join(lines) + "\n"


def write_summary_csv(path, summary) -> None:
    """Per method: n, then mean and std of each metric, then seconds per image."""
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.writer(f)
        names = metric_names()
        writer.writerow(["method", "n"] + [f"{m}_{k}" for m in names for k in ("mean", "std")]
                        + ["seconds_per_image"])
        for s in summary:
            writer.writerow([s["method"], s["n"]] + [v for m in names for v in s[m]] + [s["seconds"]])


def write_comparisons_csv(path, comparisons) -> None:
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["metric", "a", "b", "n", "median_diff", "p"])
        writer.writeheader()
        writer.writerows(comparisons)
