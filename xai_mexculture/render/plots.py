"""Plots of a whole run, in OUT/plots, drawn from the saved results alone (results.csv, curves/*.npz,
sanity.csv):

    box_<metric>.<format>        per metric a box plot by method, the images' values as points over it
                                 (reference rows last, hatched, labelled "(reference)")
    curves.<format>              the mean insertion and deletion curves per method over the images, with
                                 the 95% t-interval of the mean at every step as a band
    pcc_vs_deletion.<format>     PCC against Deletion AUC, one point per image and method (Spearman's
                                 rho per method in the legend)
    sanity.<format>              the sanity check's curves (only when sanity.csv exists)

Every method has its colour (style.colour) in every plot; a PDF or SVG has a PNG preview beside it."""
import math
import time
from pathlib import Path

import numpy as np

from xai_mexculture.render import style
from xai_mexculture.results import saved

JITTER = 0.18  # half-width of the points' horizontal spread in a box plot (seeded: same every time)


def row_names(rows) -> list:
    """The rows' methods in order of first appearance, then the reference rows."""
    names = list(dict.fromkeys(r["method"] for r in rows))
    return [n for n in names if not style.is_reference(n)] + [n for n in names if style.is_reference(n)]


def values_of(rows, name, metric) -> np.ndarray:
    v = np.array([r.get(metric, math.nan) for r in rows if r["method"] == name], np.float64)
    return v[np.isfinite(v)]


def _direction(metric) -> str:
    from xai_mexculture import metrics
    try:
        return "higher is better" if metrics.get(metric).higher_is_better else "lower is better"
    except ValueError:
        return ""


def box_figure(rows, metric, names=None):
    """Box plot of `metric` by row name (the method's colour; reference rows hatched), every image's
    value a point over its box. Only names with values get a box."""
    names = [n for n in (names or row_names(rows)) if values_of(rows, n, metric).size]
    width, rotated = max(4.0, 0.8 * len(names) + 1.6), len(names) > 6
    bottom = 1.15 if rotated else 0.6  # inches for the labels, on two lines for references
    height = 2.6 + bottom
    fig = style.new_figure((width, height))
    ax = fig.add_axes([0.75 / width, bottom / height, 1 - 0.95 / width, 1 - (bottom + 0.4) / height])
    data = [values_of(rows, n, metric) for n in names]
    positions = np.arange(1, len(names) + 1)
    if names:
        boxes = ax.boxplot(data, positions=positions, widths=0.6, patch_artist=True, showfliers=False,
                           medianprops=dict(color="black", linewidth=1.2))
        rng = np.random.default_rng(0)
        for name, patch, v, x in zip(names, boxes["boxes"], data, positions):
            reference = style.is_reference(name)
            patch.set(facecolor=style.colour(name), alpha=0.3, edgecolor=style.colour(name),
                      hatch="///" if reference else None)
            ax.scatter(x + rng.uniform(-JITTER, JITTER, v.size), v, s=12, color=style.colour(name), alpha=0.8,
                       marker="s" if reference else "o", edgecolors="none", zorder=3)
    ax.set_xticks(positions, [f"{n}\n(reference)" if style.is_reference(n) else n for n in names],
                  rotation=30 if rotated else 0, ha="right" if rotated else "center")
    for text, name in zip(ax.get_xticklabels(), names):
        text.set_color(style.colour(name))
        if style.is_reference(name):
            text.set_fontstyle("italic")
    n_images = len({r["image"] for r in rows if r["method"] in names and math.isfinite(r.get(metric, math.nan))})
    direction = _direction(metric)
    ax.set_title(f"{metric} per image ({direction + ', ' if direction else ''}{n_images} images)")
    ax.set_ylabel(metric)
    ax.grid(axis="y", alpha=0.3)
    ax.set_xlim(0.4, len(names) + 0.6)
    _fit_labels_below(fig, ax)
    return fig


def _fit_labels_below(fig, ax, pad=0.1):
    """Set the figure's bottom margin to what the x tick labels below the axes take (rotated labels
    and the references' two lines need more than straight single lines; a fixed margin left an
    empty band or cut them); the axes keep their size and the space above them."""
    labels = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]  # in pixels
    if not labels:
        return
    axes, height = ax.get_position(), fig.get_figheight()
    bottom_in, axes_in = axes.y0 * height, axes.height * height
    needed = bottom_in - min(b.y0 for b in labels) / fig.dpi + pad
    new_height = height - bottom_in + needed
    fig.set_figheight(new_height)
    ax.set_position([axes.x0, needed / new_height, axes.width, axes_in / new_height])


def mean_band(curves) -> tuple:
    """(x, mean, low, high) over a list of curves: the 95% Student-t interval of the mean at each
    point (stats.t_half_width, as in the summary; NaN, no band, below 3 curves). Curves of different
    lengths are interpolated onto 101 points of [0, 1]."""
    from xai_mexculture.core import stats
    lengths = {len(c) for c in curves}
    if len(lengths) == 1:
        x = np.linspace(0, 1, lengths.pop())
        stack = np.array([np.asarray(c, np.float64) for c in curves])
    else:
        x = np.linspace(0, 1, 101)
        stack = np.array([np.interp(x, np.linspace(0, 1, len(c)), c) for c in curves])
    mean = stack.mean(axis=0)
    if len(stack) < stats.MIN_CI_N:
        return x, mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    half = stats.t_half_width(stack.std(axis=0, ddof=1), len(stack))
    return x, mean, mean - half, mean + half


def curves_figure(curves_by_image, names):
    """Mean curve per row name of every curve metric (a panel each), with 95% t-interval bands;
    curves_by_image {image: {metric: {name: scores}}}."""
    from xai_mexculture import metrics
    present = {m for c in curves_by_image.values() for m in c}
    kinds = [m for m in metrics.all_metrics() if m.curve and m.name in present]
    fig = style.new_figure((3.3 * max(1, len(kinds)) + 0.9, 3.4))
    axes = fig.subplots(1, max(1, len(kinds)), squeeze=False)[0]
    fig.subplots_adjust(left=0.55 / fig.get_figwidth(), right=1 - 0.3 / fig.get_figwidth(), bottom=0.16,
                        top=0.84, wspace=0.3)
    for ax, metric in zip(axes, kinds):
        for name in names:
            curves = [c[metric.name][name] for c in curves_by_image.values() if name in c.get(metric.name, {})]
            if not curves:
                continue
            x, mean, low, high = mean_band(curves)
            reference = style.is_reference(name)
            ax.plot(x, mean, color=style.colour(name), linestyle="--" if reference else "-", linewidth=1.3,
                    label=f"{style.label(name)} (n = {len(curves)})")
            ax.fill_between(x, low, high, color=style.colour(name), alpha=0.18, linewidth=0)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"mean {metric.name} curve")
        ax.set_xlabel(f"fraction of pixels {'inserted' if metric.higher_is_better else 'deleted'}")
        ax.set_ylabel("p(explained class)")
        ax.grid(alpha=0.3)
    fig.suptitle("Mean curves over images (band: 95% t-interval of the mean at each step, from 3 images)")
    if kinds:
        handles, labels = axes[0].get_legend_handles_labels()
        for ncol in range(min(len(handles), 2 * len(kinds)), 0, -1):  # as many columns as fit the width
            legend = fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
                                frameon=False)
            if ncol == 1 or legend.get_window_extent().width <= fig.bbox.width * 0.98:
                _fit_legend_below(fig, axes, legend)
                break
            legend.remove()
    return fig


def _fit_legend_below(fig, axes, legend, pad=0.1):
    """Make room for a legend at the bottom of the figure, below the axes and their labels (a legend
    beside them covered the curves with many methods): the figure grows by the legend's height and
    the axes keep their size and their place from the top."""
    height = fig.get_figheight()
    grow = legend.get_window_extent().height / fig.dpi + pad  # in inches
    fig.set_figheight(height + grow)
    for ax in axes:
        box = ax.get_position()
        ax.set_position([box.x0, (box.y0 * height + grow) / (height + grow), box.width,
                         box.height * height / (height + grow)])


def scatter_figure(rows, names, x_metric="Deletion", y_metric="PCC"):
    """y_metric against x_metric, one point per image and row name; Spearman's rho per name (3 images
    or more) in the legend."""
    from xai_mexculture.core import stats
    fig = style.new_figure((6.2, 4.2))
    ax = fig.add_axes([0.6 / 6.2, 0.55 / 4.2, 3.9 / 6.2, 3.2 / 4.2])
    for name in names:
        pairs = np.array([(r.get(x_metric, math.nan), r.get(y_metric, math.nan)) for r in rows
                          if r["method"] == name], np.float64).reshape(-1, 2)
        pairs = pairs[np.isfinite(pairs).all(axis=1)]
        if not pairs.size:
            continue
        text = style.label(name)
        if len(pairs) >= 3 and np.ptp(pairs[:, 0]) > 0 and np.ptp(pairs[:, 1]) > 0:
            text += f" (rho {stats.spearman(pairs[:, 0], pairs[:, 1]):+.2f})"
        reference = style.is_reference(name)
        ax.scatter(pairs[:, 0], pairs[:, 1], s=18, label=text, marker="s" if reference else "o",
                   facecolors="none" if reference else style.colour(name), edgecolors=style.colour(name),
                   alpha=0.85)
    ax.set_xlabel(f"{x_metric} AUC ({_direction(x_metric)})")
    ax.set_ylabel(f"{y_metric} ({_direction(y_metric)})")
    ax.set_title(f"{y_metric} against {x_metric} AUC, one point per image")
    ax.grid(alpha=0.3)
    legend = ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    _fit_legend(fig, ax, legend)
    return fig


def _fit_legend(fig, ax, legend, pad=0.15):
    """Widen the figure so that the legend right of the axes fits in it (the labels, with rho, of
    the references are longer than the space a fixed width leaves); the axes keep their size."""
    axes = ax.get_position()
    width, needed = fig.get_figwidth(), legend.get_window_extent().x1 / fig.dpi + pad  # extent in pixels
    if needed <= width:
        return
    left, axes_width = axes.x0 * width, axes.width * width
    fig.set_figwidth(needed)
    ax.set_position([left / needed, axes.y0, axes_width / needed, axes.height])


def load_curves(out_dir, images) -> dict:
    """{image: {metric: {name: scores}}} of the images whose curves were saved."""
    out = {}
    for image in images:
        path = Path(out_dir) / "curves" / f"{saved.stem(image)}.npz"
        if path.is_file():
            out[image] = saved.load_curves(path)
    return out


def plan(out_dir, rows) -> list:
    """The run plots to draw, in page order: [(title, stem)] (sanity only when sanity.csv has rows)."""
    from xai_mexculture.results import tables
    from xai_mexculture.metrics import sanity
    names = row_names(rows)
    wanted = [(f"{metric} by method", f"box_{metric}") for metric in tables.metric_names()
              if any(values_of(rows, n, metric).size for n in names)]
    if any((Path(out_dir) / "curves" / f"{saved.stem(image)}.npz").is_file()
           for image in dict.fromkeys(r["image"] for r in rows)):
        wanted.append(("Mean insertion and deletion curves", "curves"))
    if any(values_of(rows, n, "PCC").size and values_of(rows, n, "Deletion").size for n in names):
        wanted.append(("PCC against Deletion AUC", "pcc_vs_deletion"))
    if sanity.read_rows(Path(out_dir) / "sanity.csv"):
        wanted.append(("Sanity check (model randomisation)", "sanity"))
    return wanted


def draw(out_dir, rows, fmt, title, stem) -> dict:
    """Draw and save one plot of `plan` in OUT/plots: {"title", "png", "file"} (paths relative to OUT)."""
    from xai_mexculture.metrics import sanity
    from xai_mexculture.render import sanity_plot
    out_dir = Path(out_dir)
    folder = out_dir / "plots"
    names = row_names(rows)
    with style.rc():
        if stem.startswith("box_"):
            fig = box_figure(rows, stem[len("box_"):], names)
        elif stem == "curves":
            fig = curves_figure(load_curves(out_dir, dict.fromkeys(r["image"] for r in rows)), names)
        elif stem == "pcc_vs_deletion":
            fig = scatter_figure(rows, names)
        elif stem == "sanity":
            fig = sanity_plot.figure(sanity.read_rows(out_dir / "sanity.csv"))
        else:
            raise ValueError(f"no run plot called {stem}")
        png = style.save(fig, folder / stem, fmt)
    return dict(title=title, png=png.relative_to(out_dir).as_posix(),
                file=(folder / f"{stem}.{fmt}").relative_to(out_dir).as_posix())


def save_run_plots(out_dir, rows, fmt="png", pool=None) -> list:
    """Every run plot in OUT/plots (earlier plots no longer made are removed); returns
    [{"title", "png", "file"}] in page order (paths relative to OUT). pool: a pipeline.HostPool
    that draws them side by side (the same files), else one after the other here."""
    out_dir = Path(out_dir)
    folder = out_dir / "plots"
    folder.mkdir(exist_ok=True)
    wanted = plan(out_dir, rows)
    if pool is not None:
        tasks = [pool.submit(plot_task, str(out_dir), rows, fmt, title, stem) for title, stem in wanted]
        made = [pool.result(task) for task in tasks]
    else:
        made = [draw(out_dir, rows, fmt, title, stem) for title, stem in wanted]
    keep = {Path(m["png"]).name for m in made} | {Path(m["file"]).name for m in made}
    for path in folder.iterdir():
        if path.is_file() and path.name not in keep and not path.name.startswith("."):
            path.unlink()
    return made


def plot_task(out_dir, rows, fmt, title, stem):
    """Runs in a host process: (one run plot drawn and saved (plots.draw), {"plots": CPU seconds})."""
    start = time.process_time()
    made = draw(out_dir, rows, fmt, title, stem)
    return made, {"plots": time.process_time() - start}
