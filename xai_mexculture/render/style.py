"""The look every figure shares: one colour per method (the same in every figure of every run), the
marking of the reference rows, font sizes readable in print, and saving in a format (PNG, PDF or
SVG, with a PNG preview beside a PDF or SVG for the report page)."""
import contextlib
import zlib
from pathlib import Path

from xai_mexculture.core import safe_io

FORMATS = ("png", "pdf", "svg")
DPI = 150  # saved figures (PNG, and the raster parts of PDF/SVG)
PREVIEW_DPI = 72  # the PNG preview beside a PDF/SVG
PNG_COMPRESS_LEVEL = 1  # zlib level of saved PNGs: a quarter less drawing time than level 6, files about 18% larger
MIN_FONT = 8  # points, at the saved size

# The built-in methods in table order; their colours never change. Other methods get one of EXTRA
# by a hash of their name, so their colour is fixed too.
BUILT_IN = {"GRADCAM": "#1f77b4", "FEM": "#ff7f0e", "RISE": "#2ca02c", "LIME": "#d62728",
            "SALIENCY": "#9467bd", "INTEGRATED_GRADIENTS": "#8c564b", "SMOOTHGRAD": "#e377c2",
            "GRADCAMPP": "#bcbd22", "LAYERCAM": "#17becf", "SCORECAM": "#393b79", "OCCLUSION": "#637939"}
EXTRA = ("#843c39", "#7b4173", "#e7ba52", "#5254a3", "#8ca252", "#d6616b", "#3182bd", "#e6550d")
# Reference rows (metrics/references.py, metrics/scanpaths.py): greys and black, never a method's colour.
REFERENCE_COLOURS = {"CENTER": "#4d4d4d", "RANDOM": "#9a9a9a", "HUMAN": "#000000"}
RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
      "legend.fontsize": 8, "legend.title_fontsize": 8, "figure.titlesize": 10, "svg.hashsalt": "xai-mexculture",
      "pdf.fonttype": 42, "image.interpolation": "nearest"}


def colour(method) -> str:
    """The colour of a method or reference row, the same in every figure."""
    if method in BUILT_IN:
        return BUILT_IN[method]
    if method in REFERENCE_COLOURS:
        return REFERENCE_COLOURS[method]
    return EXTRA[zlib.crc32(str(method).encode()) % len(EXTRA)]


def is_reference(name) -> bool:
    """CENTER, RANDOM and HUMAN (and any other registered reference map): not methods."""
    from xai_mexculture.metrics import references
    return references.is_reference(name)


def label(name) -> str:
    """A row's label in figures: references say so."""
    return f"{name} (reference)" if is_reference(name) else name


@contextlib.contextmanager
def rc():
    """Font sizes and deterministic SVG ids for the figures drawn and saved inside the block."""
    import matplotlib
    with matplotlib.rc_context(RC):
        yield


def new_figure(size, show=False):
    """A figure of `size` inches: matplotlib's Figure drawn by Agg (no GUI), or with `show` a pyplot
    figure that can be shown."""
    if show:
        import matplotlib.pyplot as plt
        return plt.figure(figsize=size)
    from matplotlib.figure import Figure
    return Figure(figsize=size)


_METADATA = {"png": {}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def save(fig, stem, fmt="png", dpi=DPI) -> Path:
    """Save `fig` as stem.<fmt> (atomically; no date inside, so equal figures give equal files) and,
    for PDF or SVG, a PNG preview stem.png beside it. Returns the PNG's path (what a page shows)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format '{fmt}' (known: {', '.join(FORMATS)})")
    stem = Path(stem)
    target = stem.with_name(f"{stem.name}.{fmt}")
    with safe_io.replacing(target) as tmp:
        savefig(fig, tmp, fmt, dpi)
    png = stem.with_name(f"{stem.name}.png")
    if fmt != "png":
        with safe_io.replacing(png) as tmp:
            savefig(fig, tmp, "png", PREVIEW_DPI)
    return png


def savefig(fig, path, fmt="png", dpi=DPI) -> None:
    """fig.savefig to `path` in `fmt`, without a date inside; PNGs at PNG_COMPRESS_LEVEL."""
    extra = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}} if fmt == "png" else {}
    fig.savefig(str(path), dpi=dpi, format=fmt, metadata=_METADATA.get(fmt), **extra)


def close(fig, show=False) -> None:
    """Show a pyplot figure (a machine without a display only logs a warning), then free it."""
    if not show:
        return
    import logging
    import matplotlib.pyplot as plt
    try:
        plt.show()
    except Exception as err:  # no display
        logging.getLogger(__name__).warning("cannot show the figure: %s", err)
    plt.close(fig)
