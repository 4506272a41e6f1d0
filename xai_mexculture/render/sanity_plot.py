"""The sanity check's plot: Spearman and SSIM with the original map against the depth of the
randomisation, per method (sanity.png).
"""
from pathlib import Path

import numpy as np

from xai_mexculture.metrics import sanity


def figure(rows):
    """Mean Spearman and SSIM against depth per method (band: min to max over images), the layer
    names on the x axis, each method in its colour (style.colour); a matplotlib Figure (draw and save
    it inside style.rc())."""
    from xai_mexculture.render import style
    fig = style.new_figure((10, 4.4))
    axes = fig.subplots(1, 2)
    labels = {}
    for ax, column, title in zip(axes, ("spearman", "ssim"), ("Spearman rank correlation", "SSIM")):
        for method, depths in sanity.by_method_and_depth(rows, column).items():
            x = sorted(depths)
            values = [np.asarray(depths[d][1], np.float64) for d in x]
            mean = [np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values]
            low = [np.nanmin(v) if np.isfinite(v).any() else np.nan for v in values]
            high = [np.nanmax(v) if np.isfinite(v).any() else np.nan for v in values]
            ax.plot(x, mean, marker="o", label=method, color=style.colour(method))
            ax.fill_between(x, low, high, color=style.colour(method), alpha=0.15)
            labels.update({d: depths[d][0] for d in x})
        if column == "spearman":
            ax.axhline(sanity.CLOSE, color="grey", linestyle=":", linewidth=1, label=f"{sanity.CLOSE}: close to the original")
        ax.set_ylim(-1.05 if column == "spearman" else -0.05, 1.05)
        ax.set_title(f"{title} with the original map")
        ax.set_ylabel(f"mean {title} (band: min-max over images)")
        ax.grid(alpha=0.3)
    for ax in axes:
        ticks = sorted(labels)
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{d}: {labels[d]}" for d in ticks], rotation=35, ha="right")
        ax.set_xlabel("layers re-initialised (cumulative, from the output)")
    axes[0].legend()
    fig.suptitle(f"Cascading model randomisation ({sanity.REFERENCE})")
    fig.tight_layout()
    return fig


def plot(rows, path, fmt="png") -> Path:
    """figure(rows) written atomically to `path` without its suffix, as .<fmt> (with a PNG preview
    beside a PDF/SVG); returns the PNG's path."""
    from xai_mexculture.render import style
    path = Path(path)
    with style.rc():
        return style.save(figure(rows), path.with_suffix(""), fmt)
