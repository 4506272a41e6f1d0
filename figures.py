"""Figures of one image: the input, the GFDM and, per method, the map, its heatmap, the overlay and
the curves of every curve metric of the registry (insertion, deletion, ...)."""
import logging
from pathlib import Path

import numpy as np

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


def stretch(saliency):
    """Min-max scaling for display only: maps whose minimum is far above 0 (RISE) would otherwise
    show as one flat colour. The saved .npy maps and all metrics use the unscaled map."""
    return utils.minmax(saliency)


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
    for method, sal in maps.items():
        shown = stretch(sal)
        panels += [np.asarray(img).astype(np.uint8), utils.resize_map(gfdm, sal.shape), shown,
                   representations.represent_heatmap(shown),
                   representations.represent_heatmap_overlaid(shown, img)]
        titles += [f"{method}: input", "GFDM", f"saliency [{sal.min():.2f}, 1] shown min-max", "heatmap",
                   "overlay"]
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

