"""Figures of one image. `grid`: one figure with the input (true / predicted class, confidence) and the
GFDM once at the top, then one row per method and per reference map (marked as a reference): the map
with a colour bar, the map over the image, and the curve of every curve metric of the registry
(insertion, deletion) on a common scale. `singles`: the same panels one per file. Drawn from what the
run saved (saved.py), so `python report.py OUT` redraws them without the model."""
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np

import constants
import safe_io
import saved
import style
import utils

log = logging.getLogger(__name__)
PANELS = ("map", "overlay")  # then one panel per curve metric

# Grid geometry (inches): every map and curve panel is PANEL x PANEL; SPACER more between the map
# panels (colour bars) and the curves (their axis labels).
PANEL, COL_GAP, ROW_GAP, LEFT, RIGHT, TOP, BOTTOM, SPACER = 1.35, 0.55, 0.45, 0.4, 0.2, 0.75, 0.5, 0.3
SINGLE = 3.6  # inches of a `singles` panel: 540 px at 150 dpi


def grid_layout(images, titles, path=None, ncols=4, show=False, suptitle=None):
    """Plot images (arrays or callables drawing on an axis) in a grid, save it to `path` and
    optionally show it. Without `show` no GUI backend is touched (the figure is drawn by Agg
    directly); with it, a machine with no display only logs a warning."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    with style.rc():
        fig = style.new_figure((3.2 * ncols, 3.2 * nrows), show)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= n:
                ax.axis("off")
                continue
            item = images[i]
            if callable(item):
                item(ax)
            else:
                arr = np.asarray(item)
                gray = arr.ndim == 2
                ax.imshow(arr, cmap="gray" if gray else None, vmin=0 if gray else None, vmax=1 if gray else None)
                ax.axis("off")
            _title(ax, titles[i])
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
        if path is not None:
            with safe_io.replacing(path) as tmp:
                fig.savefig(str(tmp), dpi=style.DPI)
    style.close(fig, show)


FLAT_RANGE = 0.1  # a map whose values span less than this is drawn on [0, 1], not stretched


def display_range(saliency) -> tuple:
    """(low, high, note) of the colour scale of a map: its own minimum and maximum (maps whose
    minimum is far above 0, like RISE's, would otherwise show as one flat colour), except for a nearly
    flat map (range below FLAT_RANGE), drawn on the fixed [0, 1] scale with a note so that noise is not
    stretched into blobs. The saved .npy maps and all metrics use the unscaled map."""
    sal = np.asarray(saliency, np.float64)
    low, high = float(sal.min()), float(sal.max())
    if high - low < FLAT_RANGE:
        return 0.0, 1.0, f"nearly flat (range {high - low:.3f}): fixed [0, 1] scale"
    return low, high, f"[{low:.2f}, {high:.2f}] stretched"


def stretch(saliency):
    """The map scaled to [0, 1] by its display range (see display_range)."""
    low, high, _ = display_range(saliency)
    return np.clip((np.asarray(saliency, np.float32) - low) / (high - low), 0.0, 1.0)


@dataclasses.dataclass
class ImageFigure:
    """What the figures of one image show. maps {row: map} in row order (methods, then references);
    curves {metric: {row: scores}}; values {row: {metric: value}}; info: the image's columns of
    results.csv (true_class, predicted_class, confidence, target_class, p_full, p_start, p_end,
    deletion_baseline, insertion_start)."""
    name: str
    img: np.ndarray
    gfdm: np.ndarray
    maps: dict
    curves: dict
    values: dict
    info: dict


def curve_metrics(curves) -> list:
    """The registry's curve metrics that have curves here, in registry order."""
    import metrics
    return [m for m in metrics.all_metrics() if m.curve and m.name in curves]


def panel_names() -> list:
    """Names of the per-method panels (`singles` files are METHOD_<panel>.<format>, beside
    input.<format> and gfdm.<format>)."""
    import metrics
    return list(PANELS) + [m.name.lower() for m in metrics.all_metrics() if m.curve]


def from_saved(out_dir, name, rows) -> ImageFigure:
    """An image's figure data from the run's saved files and its rows of results.csv (as
    report.read_rows gives them): every row with a saved map, methods first, references last."""
    import report
    rows = [r for r in rows if r["image"] == name]
    if not rows:
        raise ValueError(f"{name}: no row in results.csv")
    stem = saved.stem(name)
    order = _row_order(rows, lambda m: (Path(out_dir) / "maps" / f"{stem}_{m}.npy").is_file())
    data = saved.load_image(out_dir, name, order)
    return _figure(name, data["img"], data["gfdm"], data["maps"], data["curves"], rows)


def from_memory(name, img, gfdm, maps, curves, rows) -> ImageFigure:
    """The same figure data as from_saved gives once the run has saved this image, made from the
    arrays in memory: the image and the GFDM quantised as saved.py stores them, rows as results.csv
    holds them (report.as_read)."""
    import report
    rows = [r for r in report.as_read(rows) if r["image"] == name]
    if not rows:
        raise ValueError(f"{name}: no row")
    order = _row_order(rows, lambda m: m in maps)
    curves = {metric: {m: np.asarray(s, np.float64) for m, s in by_method.items()}
              for metric, by_method in curves.items()}
    return _figure(name, saved.as_saved_image(img), saved.as_saved_gfdm(gfdm),
                   {m: np.asarray(maps[m], np.float32) for m in order}, curves, rows)


def _row_order(rows, has_map) -> list:
    """The rows that have a map, methods first, references last."""
    present = [r["method"] for r in rows if has_map(r["method"])]
    return sorted(dict.fromkeys(present), key=lambda m: (style.is_reference(m), present.index(m)))


def _figure(name, img, gfdm, maps, curves, rows) -> ImageFigure:
    import report
    values = {r["method"]: {m: r.get(m, math.nan) for m in report.metric_names()} for r in rows}
    info = {k: rows[0].get(k, "") for k in ("true_class", "predicted_class", "confidence", "target_class",
                                            "p_full", "p_start", "p_end", "deletion_baseline", "insertion_start")}
    return ImageFigure(name, img, gfdm, maps, curves, values, info)


# --------------------------------------------------------------------------- panels
def _number(value, digits=2) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def _colour_bar(ax, mappable):
    from matplotlib.ticker import MaxNLocator
    cax = ax.inset_axes([1.04, 0.0, 0.06, 1.0])
    ax.figure.colorbar(mappable, cax=cax, ticks=MaxNLocator(5))


def _title(ax, text):
    """A title at a fixed place above the axes (matplotlib's automatic placement looks at every tick
    label of the figure: most of a figure's drawing time)."""
    ax.set_title(text, y=1.0, pad=4)


def draw_input(ax, f):
    ax.imshow(f.img)
    _title(ax, f"input: true {f.info['true_class'] or '?'}\npredicted {f.info['predicted_class']} "
                 f"({_number(f.info['confidence'])})")
    ax.axis("off")


def draw_gfdm(ax, f):
    shown = ax.imshow(utils.resize_map(f.gfdm, f.img.shape[:2]), cmap="gray", vmin=0, vmax=1)
    _colour_bar(ax, shown)
    _title(ax, "GFDM (human gaze)")
    ax.axis("off")


def draw_info(ax, f):
    i = f.info
    lines = [f.name, "", f"true class: {i['true_class'] or '?'}",
             f"predicted: {i['predicted_class']} (confidence {_number(i['confidence'])})",
             f"explained: {i['target_class']}", "", "p(explained class):",
             f"   full image {_number(i['p_full'])}",
             f"   insertion start ({i['insertion_start']}) {_number(i['p_start'])}",
             f"   everything deleted ({i['deletion_baseline']}) {_number(i['p_end'])}"]
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", transform=ax.transAxes, linespacing=1.4)
    ax.axis("off")


def draw_map(ax, f, method, title_prefix="", title=True):
    """The map in its display range (display_range), a colour bar of its values; a nearly flat map
    always says so in its title."""
    low, high, note = display_range(f.maps[method])
    shown = ax.imshow(np.asarray(f.maps[method], np.float32), cmap=constants.COLORMAP, vmin=low, vmax=high)
    _colour_bar(ax, shown)
    flat = note.startswith("nearly flat")
    if title or flat:
        _title(ax, f"{title_prefix}map" + (f"\nnearly flat: fixed [0, 1]" if flat else ""))
    ax.axis("off")


def draw_overlay(ax, f, method, title_prefix="", title=True):
    import representations
    from matplotlib import cm, colors
    low, high, _ = display_range(f.maps[method])
    ax.imshow(representations.represent_heatmap_overlaid(stretch(f.maps[method]), f.img))
    _colour_bar(ax, cm.ScalarMappable(norm=colors.Normalize(low, high), cmap=constants.COLORMAP))
    if title:
        _title(ax, f"{title_prefix}over the image")
    ax.axis("off")


def draw_curve(ax, f, method, metric, title_prefix="", x_label=True, y_label=True):
    if method not in f.curves.get(metric.name, {}):  # e.g. a merged folder without this curve
        _title(ax, f"{title_prefix}{metric.name}: no curve saved")
        ax.axis("off")
        return
    scores = np.asarray(f.curves[metric.name][method], np.float64)
    x = np.linspace(0, 1, len(scores))
    colour = style.colour(method)
    line = "--" if style.is_reference(method) else "-"
    ax.plot(x, scores, color=colour, linestyle=line, linewidth=1.2)
    ax.fill_between(x, scores, alpha=0.25, color=colour, linewidth=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
    value = f.values.get(method, {}).get(metric.name, math.nan)
    _title(ax, f"{title_prefix}{metric.name} AUC {_number(value, 3)}")
    if x_label:
        ax.set_xlabel(f"fraction of pixels {'inserted' if metric.higher_is_better else 'deleted'}")
    if y_label:
        ax.set_ylabel("p(explained class)")
    ax.grid(alpha=0.3, linewidth=0.5)


def _row_label(ax, method):
    ax.text(-0.1, 0.5, style.label(method), rotation=90, ha="right", va="center", transform=ax.transAxes,
            color=style.colour(method), fontweight="bold", fontstyle="italic" if style.is_reference(method) else
            "normal", fontsize=9)


# --------------------------------------------------------------------------- figures
def grid_figure(f, show=False):
    """The `grid` figure of one image (a matplotlib Figure; draw and save it inside style.rc())."""
    from matplotlib.patches import Rectangle
    metrics_ = curve_metrics(f.curves)
    rows = list(f.maps)
    ncols, nrows = len(PANELS) + 1 + max(len(metrics_), 2), 1 + len(rows)  # a spacer column after the maps
    ratios = [PANEL] * len(PANELS) + [SPACER] + [PANEL] * (ncols - len(PANELS) - 1)
    width = LEFT + RIGHT + sum(ratios) + (ncols - 1) * COL_GAP
    height = TOP + BOTTOM + nrows * PANEL + (nrows - 1) * ROW_GAP
    fig = style.new_figure((width, height), show)
    gs = fig.add_gridspec(nrows, ncols, left=LEFT / width, right=1 - RIGHT / width, top=1 - TOP / height,
                          bottom=BOTTOM / height, wspace=COL_GAP / np.mean(ratios), hspace=ROW_GAP / PANEL,
                          width_ratios=ratios)
    fig.suptitle(f.name, fontweight="bold", y=1 - 0.12 / height, va="top")
    draw_input(fig.add_subplot(gs[0, 0]), f)
    draw_gfdm(fig.add_subplot(gs[0, 1]), f)
    draw_info(fig.add_subplot(gs[0, len(PANELS) + 1:]), f)
    for r, method in enumerate(rows, start=1):
        if style.is_reference(method):
            box = gs[r, :].get_position(fig)
            pad = 0.35 * ROW_GAP / height
            fig.patches.append(Rectangle((0.005, box.y0 - pad), 0.99, box.height + 2 * pad, transform=fig.transFigure,
                                         facecolor="#efefef", edgecolor="none", zorder=-1))
        ax = fig.add_subplot(gs[r, 0])
        draw_map(ax, f, method, title=r == 1)
        _row_label(ax, method)
        draw_overlay(fig.add_subplot(gs[r, 1]), f, method, title=r == 1)
        for c, metric in enumerate(metrics_):
            draw_curve(fig.add_subplot(gs[r, len(PANELS) + 1 + c]), f, method, metric, x_label=r == len(rows),
                       y_label=c == 0)
    return fig


def _single_figure(draw, kind, show=False):
    """One panel on its own SINGLE x SINGLE-inch figure (a colour bar right of map panels)."""
    fig = style.new_figure((SINGLE, SINGLE), show)
    rect = {"map": [0.06, 0.06, 0.74, 0.74], "curve": [0.17, 0.14, 0.78, 0.74], "text": [0.05, 0.05, 0.9, 0.9]}[kind]
    draw(fig.add_axes(rect))
    return fig


def single_figures(f, show=False):
    """[(file stem, Figure)] of the `singles` panels of one image."""
    out = [("input", _single_figure(lambda ax: draw_input(ax, f), "map", show)),
           ("gfdm", _single_figure(lambda ax: draw_gfdm(ax, f), "map", show))]
    for method in f.maps:
        prefix = f"{style.label(method)}: "
        out.append((f"{method}_map", _single_figure(lambda ax, m=method: draw_map(ax, f, m, prefix), "map", show)))
        out.append((f"{method}_overlay",
                    _single_figure(lambda ax, m=method: draw_overlay(ax, f, m, prefix), "map", show)))
        for metric in curve_metrics(f.curves):
            out.append((f"{method}_{metric.name.lower()}",
                        _single_figure(lambda ax, m=method, k=metric: draw_curve(ax, f, m, k, prefix), "curve", show)))
    return out


def figure_paths(fig_dir, name, display_type, methods=()) -> list:
    """The PNG files (figures or previews) that one image's figures may have, in page order."""
    stem = saved.stem(name)
    if display_type == "grid":
        return [Path(fig_dir) / f"{stem}_grid.png"]
    if display_type == "singles":
        names = ["input", "gfdm"] + [f"{m}_{p}" for m in methods for p in panel_names()]
        return [Path(fig_dir) / stem / f"{n}.png" for n in names]
    return []


def save_image_figures(f, fig_dir, display_type="grid", fmt="png", show=False) -> list:
    """Save the figures of one image (grid: FIG_DIR/<image>_grid.<fmt>; singles: FIG_DIR/<image>/
    <panel>.<fmt>; a PNG preview beside a PDF/SVG); returns the PNG paths."""
    if display_type == "none":
        return []
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with style.rc():
        if display_type == "grid":
            fig = grid_figure(f, show)
            written.append(style.save(fig, fig_dir / f"{saved.stem(f.name)}_grid", fmt))
            style.close(fig, show)
            return written
        single_dir = fig_dir / saved.stem(f.name)
        single_dir.mkdir(exist_ok=True)
        for stem, fig in single_figures(f, show):
            written.append(style.save(fig, single_dir / stem, fmt))
            style.close(fig, show)
    return written


def draw_memory(out_dir, name, img, gfdm, maps, curves, rows, display_type="grid", fmt="png", show=False) -> list:
    """Save one image's figures under OUT/figures from its arrays in memory and its result rows (as
    built, before results.csv): the same figures as draw_saved draws from the saved files."""
    if display_type == "none":
        return []
    return save_image_figures(from_memory(name, img, gfdm, maps, curves, rows), Path(out_dir) / "figures",
                              display_type, fmt, show)


def draw_saved(out_dir, name, rows, display_type="grid", fmt="png", show=False) -> list:
    """Load one image's saved data (saved.py) and its rows, and save its figures under OUT/figures."""
    if display_type == "none":
        return []
    return save_image_figures(from_saved(out_dir, name, rows), Path(out_dir) / "figures", display_type, fmt, show)
