"""The rebuild of a run's tables, plots, per-image figures and report.html from its saved results
alone (no model needed): the `python report.py OUT` command.

    python report.py OUT                          # a finished, resumed or merged run
    python report.py OUT --figure_format pdf      # the figures and plots again, as PDF
"""
from pathlib import Path

from xai_mexculture.results import tables


def rebuild(out_dir, display_type="grid", figure_format="png", images=True, progress=True, show=False,
            pool=None) -> dict:
    """The run plots (plots.py), with `images` every image's figures redrawn from the saved arrays
    (figures.draw_saved), and report.html (html_report.py), from OUT's files alone; display_type
    "none": no figure and no plot, only the page; pool: a pipeline.HostPool that draws the run plots
    side by side. Images whose arrays were not saved (a run of an
    earlier version) keep the figures they have. Returns
    {"images": redrawn, "unsaved": [image names], "plots": [...], "page": path}."""
    from xai_mexculture.render import figures
    from xai_mexculture.render import html_report
    from xai_mexculture.render import plots
    from xai_mexculture.results import saved
    from tqdm import tqdm
    out_dir = Path(out_dir)
    rows = tables.read_rows(out_dir / "results.csv")
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
    from xai_mexculture.core import parsers
    from xai_mexculture.core import runlock
    from xai_mexculture.render import style
    p = parsers.ArgumentParser(prog="report.py", description="Rebuild the tables (summary.md, summary.csv, comparisons.csv), the "
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
    params = tables.read_manifest(out).get("parameters", {})
    if not params:
        print(f"warning: {out}: no readable manifest.json; using the defaults (grid, png)", file=sys.stderr)
    display_type = args.display_type or params.get("display_type", "grid")
    figure_format = args.figure_format or params.get("figure_format", "png")
    try:
        with runlock.RunLock(out):
            rows = tables.read_rows(out / "results.csv")
            if not rows:
                print(f"error: {out / 'results.csv'} has no rows: nothing to report", file=sys.stderr)
                return 2
            methods, references = tables.run_rows(out, rows)
            tables.write_tables(out, rows, methods, references)
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
