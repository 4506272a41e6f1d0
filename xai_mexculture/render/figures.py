"""Figures of one image. `grid`: one figure with the input (true / predicted class, confidence) and the
GFDM once at the top, then one row per method and per reference map (marked as a reference): the map
with a colour bar, the map over the image, and the curve of every curve metric of the registry
(insertion, deletion) on a common scale. `singles`: the same panels one per file. A run draws them
from the arrays it has in memory (draw_memory), `python report.py OUT` from what the run saved
(results/saved.py, draw_saved): the same data, the same files. The grid figure is made once per
layout and process and filled per image (shared_grid: about half the drawing time), with the same
pixels as a figure made for the image alone."""
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.core import image_io
from xai_mexculture.core import safe_io
from xai_mexculture.render import style
from xai_mexculture.results import saved

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
                style.savefig(fig, tmp, Path(path).suffix.lstrip(".").lower() or "png")
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
    notes: dict = dataclasses.field(default_factory=dict)  # {row: results.csv's note}

    def flat(self, row) -> bool:
        from xai_mexculture.results import tables
        return tables.FLAT_NOTE in self.notes.get(row, "")

    def unseen(self) -> bool:
        from xai_mexculture.results import tables
        return any(tables.UNSEEN_NOTE in note for note in self.notes.values())

    @property
    def aspect(self) -> float:
        """Height / width of the original image, which the image panels keep (the input and the maps
        are at the model's square input size): the GFDM's, which is at the image's own size or at
        another size of the same aspect ratio (image_stage.load_gaze refuses others:
        data.check_gfdm_shape), and is saved at its own size (so report.py draws the same
        figures)."""
        shape = np.shape(self.gfdm)
        return shape[0] / shape[1] if len(shape) >= 2 and shape[0] and shape[1] else 1.0


def curve_metrics(curves) -> list:
    """The registry's curve metrics that have curves here, in registry order."""
    from xai_mexculture import metrics
    return [m for m in metrics.all_metrics() if m.curve and m.name in curves]


def panel_names() -> list:
    """Names of the per-method panels (`singles` files are METHOD_<panel>.<format>, beside
    input.<format> and gfdm.<format>)."""
    from xai_mexculture import metrics
    return list(PANELS) + [m.name.lower() for m in metrics.all_metrics() if m.curve]


def from_saved(out_dir, name, rows) -> ImageFigure:
    """An image's figure data from the run's saved files and its rows of results.csv (as
    tables.read_rows gives them): every row with a saved map, methods first, references last."""
    rows = [r for r in rows if r["image"] == name]
    if not rows:
        raise ValueError(f"{name}: no row in results.csv")
    stem = saved.stem(name)
    order = _row_order(rows, lambda m: (Path(out_dir) / "maps" / f"{stem}_{m}.npy").is_file())
    data = saved.load_image(out_dir, name, order)
    return _figure(name, data["img"], data["gfdm"], data["maps"], data["curves"], rows)


def from_memory(name, img, gfdm, maps, curves, rows) -> ImageFigure:
    """The same figure data as from_saved gives once the run has saved this image, made from the
    arrays in memory: the image and the GFDM quantised as results/saved.py stores them, rows as
    results.csv holds them (tables.as_read)."""
    from xai_mexculture.results import tables
    rows = [r for r in tables.as_read(rows) if r["image"] == name]
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
    from xai_mexculture.results import tables
    values = {r["method"]: {m: r.get(m, math.nan) for m in tables.metric_names()} for r in rows}
    info = {k: rows[0].get(k, "") for k in ("true_class", "predicted_class", "confidence", "target_class",
                                            "p_full", "p_start", "p_end", "deletion_baseline", "insertion_start")}
    notes = {r["method"]: r.get("note") or "" for r in rows}
    return ImageFigure(name, img, gfdm, maps, curves, values, info, notes)


# --------------------------------------------------------------------------- panels
def _number(value, digits=2) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def _small(value) -> str:
    """A probability that may be tiny, in 2 significant digits ('–' when there is none)."""
    try:
        return f"{float(value):.2g}"
    except (TypeError, ValueError):
        return "–"


def _colour_bar(ax, mappable):
    from matplotlib.ticker import MaxNLocator
    cax = ax.inset_axes([1.04, 0.0, 0.06, 1.0])
    ax.figure.colorbar(mappable, cax=cax, ticks=MaxNLocator(5))


def _title(ax, text):
    """A title at a fixed place above the axes (matplotlib's automatic placement looks at every tick
    label of the figure: most of a figure's drawing time)."""
    ax.set_title(text, y=1.0, pad=4)


def _extent(f, array) -> tuple:
    """imshow's extent of an array drawn in an image panel of f: its columns across, and the height
    that gives the original image's aspect ratio (f.aspect) down: the model's square input of a 4:3
    photograph is drawn 4:3 again, not squashed; a square image's pixels are the array's."""
    width = np.shape(array)[1]
    return (-0.5, width - 0.5, width * f.aspect - 0.5, -0.5)


# Each panel is made once (its axes, images, colour bars, lines) by a _*_panel function, which returns
# fill(f): what puts one image's data in it. A grid figure is made once per layout and filled per image
# (GridFigure); draw_* make and fill a panel at once (the `singles`).
def _input_panel(ax):
    shown = ax.imshow(np.zeros((2, 2, 3), np.uint8))
    ax.axis("off")

    def fill(f):
        shown.set_data(f.img)
        shown.set_extent(_extent(f, f.img))
        _title(ax, f"input: true {f.info['true_class'] or '?'}\npredicted {f.info['predicted_class']} "
                   f"({_number(f.info['confidence'])})")
    return fill


def _gfdm_panel(ax):
    shown = ax.imshow(np.zeros((2, 2), np.float32), cmap="gray", vmin=0, vmax=1)
    _colour_bar(ax, shown)
    _title(ax, "GFDM (human gaze)")
    ax.axis("off")

    def fill(f):
        shown.set_data(image_io.resize_map(f.gfdm, f.img.shape[:2]))
        shown.set_extent(_extent(f, f.img))
    return fill


def _info_panel(ax):
    text = ax.text(0.0, 1.0, "", va="top", ha="left", transform=ax.transAxes, linespacing=1.4)
    ax.axis("off")

    def fill(f):
        i = f.info
        lines = [f.name, "", f"true class: {i['true_class'] or '?'}",
                 f"predicted: {i['predicted_class']} (confidence {_number(i['confidence'])})",
                 f"explained: {i['target_class']}", "", "p(explained class):",
                 f"   full image {_number(i['p_full']) if not f.unseen() else _small(i['p_full'])}"
                 + (": class not seen, the maps explain noise" if f.unseen() else ""),
                 f"   insertion start ({i['insertion_start']}) {_number(i['p_start'])}",
                 f"   everything deleted ({i['deletion_baseline']}) {_number(i['p_end'])}"]
        text.set_text("\n".join(lines))
    return fill


def _map_panel(ax, method, title_prefix="", title=True):
    """The map in its display range (display_range), a colour bar of its values; a nearly flat map
    always says so in its title."""
    shown = ax.imshow(np.zeros((2, 2), np.float32), cmap=constants.COLORMAP, vmin=0, vmax=1)
    _colour_bar(ax, shown)
    ax.axis("off")

    def fill(f):
        sal = np.asarray(f.maps[method], np.float32)
        low, high, note = display_range(sal)
        shown.set_data(sal)
        shown.set_extent(_extent(f, sal))
        shown.set_clim(low, high)
        warnings = (["flat map: no ranking"] if f.flat(method) else
                    ["nearly flat: fixed [0, 1]"] if note.startswith("nearly flat") else [])
        if f.unseen() and not style.is_reference(method):
            warnings.append(f"class not seen (p {_small(f.info['p_full'])})")
        _title(ax, "\n".join([f"{title_prefix}map"] + warnings) if title or warnings else "")
    return fill


def _overlay_panel(ax, method, title_prefix="", title=True):
    from xai_mexculture.render import representations
    from matplotlib import cm, colors
    shown = ax.imshow(np.zeros((2, 2, 3), np.uint8))
    scale = cm.ScalarMappable(norm=colors.Normalize(0, 1), cmap=constants.COLORMAP)
    _colour_bar(ax, scale)
    _title(ax, f"{title_prefix}over the image" if title else "")
    ax.axis("off")

    def fill(f):
        low, high, _ = display_range(f.maps[method])
        over = representations.represent_heatmap_overlaid(stretch(f.maps[method]), f.img)
        shown.set_data(over)
        shown.set_extent(_extent(f, over))
        scale.set_clim(low, high)
    return fill


def _curve_panel(ax, method, metric, present, title_prefix="", x_label=True, y_label=True, flat=False):
    if not present:  # a flat map (no metric), or e.g. a merged folder without this curve
        _title(ax, f"{title_prefix}{metric.name}: " + ("no curve (flat map)" if flat else "no curve saved"))
        ax.axis("off")
        return lambda f: None
    colour = style.colour(method)
    line = ax.plot([0, 1], [0, 0], color=colour, linestyle="--" if style.is_reference(method) else "-",
                   linewidth=1.2)[0]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
    if x_label:
        ax.set_xlabel(f"fraction of pixels {'inserted' if metric.higher_is_better else 'deleted'}")
    if y_label:
        ax.set_ylabel("p(explained class)")
    ax.grid(alpha=0.3, linewidth=0.5)
    area = []

    def fill(f):
        scores = np.asarray(f.curves[metric.name][method], np.float64)
        x = np.linspace(0, 1, len(scores))
        line.set_data(x, scores)
        while area:
            area.pop().remove()
        area.append(ax.fill_between(x, scores, alpha=0.25, color=colour, linewidth=0))
        value = f.values.get(method, {}).get(metric.name, math.nan)
        _title(ax, f"{title_prefix}{metric.name} AUC {_number(value, 3)}")
    return fill


def draw_input(ax, f):
    _input_panel(ax)(f)


def draw_gfdm(ax, f):
    _gfdm_panel(ax)(f)


def draw_info(ax, f):
    _info_panel(ax)(f)


def draw_map(ax, f, method, title_prefix="", title=True):
    _map_panel(ax, method, title_prefix, title)(f)


def draw_overlay(ax, f, method, title_prefix="", title=True):
    _overlay_panel(ax, method, title_prefix, title)(f)


def draw_curve(ax, f, method, metric, title_prefix="", x_label=True, y_label=True):
    present = method in f.curves.get(metric.name, {})
    _curve_panel(ax, method, metric, present, title_prefix, x_label, y_label, f.flat(method))(f)


def _row_label(ax, method):
    ax.text(-0.1, 0.5, style.label(method), rotation=90, ha="right", va="center", transform=ax.transAxes,
            color=style.colour(method), fontweight="bold", fontstyle="italic" if style.is_reference(method) else
            "normal", fontsize=9)


# --------------------------------------------------------------------------- figures
def grid_layout_key(f) -> tuple:
    """What the layout of an image's grid figure depends on: its rows, the curve metrics and which
    curves exist, the shapes of the image and the maps. Images with equal keys share one figure."""
    metrics_ = curve_metrics(f.curves)
    return (tuple(f.maps), tuple(m.name for m in metrics_),
            tuple(m in f.curves.get(k.name, {}) for m in f.maps for k in metrics_),
            np.shape(f.img), tuple(np.shape(s) for s in f.maps.values()), tuple(f.flat(m) for m in f.maps))


class GridFigure:
    """The `grid` figure of one layout (grid_layout_key), made once: the input and the GFDM at the
    top, then one row per method and reference; fill(f) puts an image's data in it (the same
    picture as a figure made for that image alone)."""

    def __init__(self, f, show=False):
        from matplotlib.patches import Rectangle
        self.key = grid_layout_key(f)
        metrics_ = curve_metrics(f.curves)
        rows = list(f.maps)
        ncols, nrows = len(PANELS) + 1 + max(len(metrics_), 2), 1 + len(rows)  # a spacer column after the maps
        ratios = [PANEL] * len(PANELS) + [SPACER] + [PANEL] * (ncols - len(PANELS) - 1)
        width = LEFT + RIGHT + sum(ratios) + (ncols - 1) * COL_GAP
        height = TOP + BOTTOM + nrows * PANEL + (nrows - 1) * ROW_GAP
        fig = self.fig = style.new_figure((width, height), show)
        gs = fig.add_gridspec(nrows, ncols, left=LEFT / width, right=1 - RIGHT / width, top=1 - TOP / height,
                              bottom=BOTTOM / height, wspace=COL_GAP / np.mean(ratios), hspace=ROW_GAP / PANEL,
                              width_ratios=ratios)
        title = fig.suptitle("", fontweight="bold", y=1 - 0.12 / height, va="top")
        self.fills = [lambda f: title.set_text(f.name + (f": class not seen (p = {_small(f.info['p_full'])})"
                                                         if f.unseen() else "")),
                      _input_panel(fig.add_subplot(gs[0, 0])),
                      _gfdm_panel(fig.add_subplot(gs[0, 1])), _info_panel(fig.add_subplot(gs[0, len(PANELS) + 1:]))]
        for r, method in enumerate(rows, start=1):
            if style.is_reference(method):
                box = gs[r, :].get_position(fig)
                pad = 0.35 * ROW_GAP / height
                fig.patches.append(Rectangle((0.005, box.y0 - pad), 0.99, box.height + 2 * pad,
                                             transform=fig.transFigure, facecolor="#efefef", edgecolor="none",
                                             zorder=-1))
            ax = fig.add_subplot(gs[r, 0])
            self.fills.append(_map_panel(ax, method, title=r == 1))
            _row_label(ax, method)
            self.fills.append(_overlay_panel(fig.add_subplot(gs[r, 1]), method, title=r == 1))
            for c, metric in enumerate(metrics_):
                self.fills.append(_curve_panel(fig.add_subplot(gs[r, len(PANELS) + 1 + c]), method, metric,
                                               method in f.curves.get(metric.name, {}), x_label=r == len(rows),
                                               y_label=c == 0, flat=f.flat(method)))

    def fill(self, f):
        if grid_layout_key(f) != self.key:
            raise ValueError(f"{f.name}: another layout than this figure's")
        for fill in self.fills:
            fill(f)
        return self.fig


def grid_figure(f, show=False):
    """The `grid` figure of one image (a matplotlib Figure; draw and save it inside style.rc())."""
    return GridFigure(f, show).fill(f)


_GRIDS = {}  # the grid figures of this process, by layout: made once, filled per image
MAX_GRIDS = 4


def shared_grid(f):
    """This image's data in the grid figure of its layout, made on the first image of that layout
    with the same matplotlib settings (call it inside style.rc(), as it draws with them)."""
    import matplotlib
    settings = repr(sorted(dict.items(matplotlib.rcParams), key=lambda kv: kv[0]))  # dict's: no validation, fast
    key = (grid_layout_key(f), settings)
    if key not in _GRIDS:
        if len(_GRIDS) >= MAX_GRIDS:
            _GRIDS.clear()
        _GRIDS[key] = GridFigure(f)
    return _GRIDS[key].fill(f)


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
            fig = grid_figure(f, show) if show else shared_grid(f)
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
    """Load one image's saved data (results/saved.py) and its rows, and save its figures under
    OUT/figures."""
    if display_type == "none":
        return []
    return save_image_figures(from_saved(out_dir, name, rows), Path(out_dir) / "figures", display_type, fmt, show)
