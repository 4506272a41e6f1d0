"""Seconds the host spends on the per-image figures, the run plots and report.html, on the demo.

Runs main.py once on the first --n_images demo images (4 methods + the CENTER and RANDOM references;
small RISE/LIME settings: the figures do not depend on them), then redraws one image's figures from
the saved arrays (figures.draw_saved, what the run and `report.py OUT` do per image) --repeat times
per display type and format and prints the best and the median, then times the run plots and the page.

    python benchmarks/figure_time.py                 # grid and singles, png, pdf and svg
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--n_images", type=int, default=2)
    args = p.parse_args(argv)
    from xai_mexculture.render import figures
    from xai_mexculture.render import html_report
    from xai_mexculture.cli import main as run_main
    from xai_mexculture.render import plots
    from xai_mexculture.results import tables
    import contextlib
    import io
    out = Path(tempfile.mkdtemp()) / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        run_main.main(["--n_images", str(args.n_images), "--output_dir", str(out), "--rise_masks", "256",
                       "--lime_samples", "64", "--no_progress", "--display_type", "none"])
    rows = tables.read_rows(out / "results.csv")
    name = rows[0]["image"]
    n_rows = len([r for r in rows if r["image"] == name and (out / "maps" / f"{Path(name).stem}_{r['method']}.npy").exists()])
    print(f"| what | best (s) | median (s) |\n|---|---|---|")
    for display_type in ("grid", "singles"):
        for fmt in ("png", "pdf", "svg"):
            best, median = timed(lambda: figures.draw_saved(out, name, rows, display_type, fmt), args.repeat)
            print(f"| {display_type} {fmt}, one image ({n_rows} rows) | {best:.3f} | {median:.3f} |")
    best, median = timed(lambda: plots.save_run_plots(out, rows, "png"), max(1, args.repeat // 2))
    print(f"| run plots ({args.n_images} images), png | {best:.3f} | {median:.3f} |")
    made = plots.save_run_plots(out, rows, "png")
    best, median = timed(lambda: html_report.write_page(out, rows, made, "grid", "png"), args.repeat)
    print(f"| report.html ({len(rows)} rows) | {best:.3f} | {median:.3f} |")


if __name__ == "__main__":
    main()
