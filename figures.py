"""Figures of one image: the input, the GFDM and, per method, the map, its heatmap, the overlay and
the curves of every curve metric of the registry (insertion, deletion, ...)."""
import logging
from pathlib import Path

import numpy as np

import constants
import safe_io
import utils

log = logging.getLogger(__name__)
PANELS = ("input", "gfdm", "saliency", "heatmap", "overlay")  # then one panel per curve metric


def grid_layout(images, titles, path=None, ncols=4, show=False, suptitle=None):
    """Plot images (arrays or callables drawing on an axis) in a grid, save it to `path` and
    optionally show it. Without `show` no GUI backend is touched (the figure is drawn by Agg
    directly); with it, a machine with no display only logs a warning."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    size = (3.2 * ncols, 3.2 * nrows)
    if show:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=size)
    else:
        from matplotlib.figure import Figure
        fig = Figure(figsize=size)
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
        ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    if path is not None:
        with safe_io.replacing(path) as tmp:
            fig.savefig(str(tmp), dpi=80)
    if show:
        import matplotlib.pyplot as plt
        try:
            plt.show()
        except Exception as err:  # no display
            log.warning("cannot show the figure: %s", err)
        plt.close(fig)


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


def _map_panel(picture, low, high, cmap):
    """A panel drawing `picture` (a 2-D map drawn with cmap on [low, high], or an RGB picture of a
    map on that scale) with a colour bar of the map's values."""
    def draw(ax):
        from matplotlib import cm, colors
        arr = np.asarray(picture)
        if arr.ndim == 2:
            mappable = ax.imshow(arr, cmap=cmap, vmin=low, vmax=high)
        else:
            ax.imshow(arr)
            mappable = cm.ScalarMappable(norm=colors.Normalize(low, high), cmap=cmap)
        bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=6)
        ax.axis("off")
    return draw


def _curve_plot(scores, metric):
    colour = "tab:green" if metric.higher_is_better else "tab:red"

    def draw(ax):
        x = np.linspace(0, 1, len(scores))
        ax.plot(x, scores, color=colour)
        ax.fill_between(x, scores, alpha=0.3, color=colour)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"fraction of pixels ({metric.name.lower()})", fontsize=7)
        ax.set_ylabel("class probability", fontsize=7)
        ax.tick_params(labelsize=6)
    return draw


def save_image_figures(name, img, gfdm, maps, values, curves, headline, fig_dir, display_type="grid",
                       show=False):
    """`grid`: one PNG per image with a row per method; `singles`: one PNG per panel.

    maps {method: map}; values {method: {metric: value}}; curves {metric: {method: scores}}."""
    import metrics
    import representations
    stem = Path(name).stem
    curve_metrics = [m for m in metrics.all_metrics() if m.curve and m.name in curves]
    panel_names = list(PANELS) + [m.name.lower() for m in curve_metrics]
    panels, titles, names = [], [], []
    colormap = constants.COLORMAP
    for method, sal in maps.items():
        low, high, note = display_range(sal)
        shown = stretch(sal)
        panels += [np.asarray(img).astype(np.uint8), _map_panel(utils.resize_map(gfdm, sal.shape), 0, 1, "gray"),
                   _map_panel(sal, low, high, "gray"),
                   _map_panel(representations.represent_heatmap(shown), low, high, colormap),
                   _map_panel(representations.represent_heatmap_overlaid(shown, img), low, high, colormap)]
        titles += [f"{method}: input", "GFDM", f"saliency {note}", "heatmap", "overlay"]
        for metric in curve_metrics:
            panels.append(_curve_plot(curves[metric.name][method], metric))
            titles.append(f"{metric.name} AUC {values[method][metric.name]:.3f}")
        names += [f"{method}_{n}" for n in panel_names]
    if display_type == "grid":
        grid_layout(panels, titles, Path(fig_dir) / f"{stem}_grid.png", ncols=len(panel_names),
                    show=show, suptitle=headline)
        return
    single_dir = Path(fig_dir) / stem
    single_dir.mkdir(parents=True, exist_ok=True)
    for panel, title, panel_name in zip(panels, titles, names):
        grid_layout([panel], [title], single_dir / f"{panel_name}.png", ncols=1, show=show,
                    suptitle=headline if panel_name.endswith("_input") else None)


def panel_names() -> list:
    """Names of the per-method panels (`singles` files are METHOD_<panel>.png)."""
    import metrics
    return list(PANELS) + [m.name.lower() for m in metrics.all_metrics() if m.curve]

