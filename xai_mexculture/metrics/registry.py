"""The metric registry: every metric with its name (the results column), its direction (higher or
lower is better) and what it needs (the GFDM, the fixations, the model). The results columns, the
summary's notes and the figures' curve panels come from here.

A metric computes its values for all the maps of one image at once:
    compute(image: ImageData, maps: {method: (H, W) map}) -> {method: float}
so a model metric can score the maps of an image together in large batches. `per_map(fn)` turns a
function fn(image, saliency) -> float into such a compute. A metric with `curve=True` also leaves
its curves in `image.curves[metric name][method]` (numpy arrays), which the figures draw. A costly
metric may be opt-in: `option="road"` computes it only when the run turns that option on
(`image.options`, filled by image_stage.py from its switch, e.g. --road); otherwise its column stays
empty.

    from xai_mexculture import metrics
    metrics.register(metrics.Metric("MAX", higher_is_better=True, needs=("gfdm",),
                                    compute=metrics.per_map(lambda image, sal: float(sal.max()))))

Each built-in metric is declared in the module that computes it (gaze.py, causal.py, sauc.py,
mufidelity.py, properties.py, road.py, scanpaths.py), imported in table order by this package.
"""
import dataclasses
from typing import Callable, Optional

import numpy as np

import constants

from xai_mexculture.core import image_io


NEEDS = ("gfdm", "fixations", "other_fixations", "model", "explainers", "scanpaths")
FAMILIES = ("gaze", "model", "human")  # the summary's tables, in order
MIN_SCANPATHS = 2  # the scanpath columns and the HUMAN row need two participants at least


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    needs: tuple
    compute: Callable
    curve: bool = False
    description: str = ""
    option: Optional[str] = None  # computed only when this option is in image.options
    family: Optional[str] = None  # the summary's table: "gaze", "model" or "human" (default: from needs)

    def __post_init__(self):
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"metric {self.name}: unknown needs {sorted(unknown)} (known: {NEEDS})")
        if self.option is not None and (not isinstance(self.option, str) or not self.option):
            raise ValueError(f"metric {self.name}: option must be a non-empty name or None, not {self.option!r}")
        if self.family is not None and self.family not in FAMILIES:
            raise ValueError(f"metric {self.name}: family must be one of {', '.join(FAMILIES)}, not {self.family!r}")

    def table(self) -> str:
        """The summary table of the metric: its family, else "human" when it needs the scanpaths,
        "gaze" when it needs the GFDM or the fixations, "model" otherwise (the model's own metrics
        and the map's properties)."""
        if self.family is not None:
            return self.family
        if "scanpaths" in self.needs:
            return "human"
        return "gaze" if {"gfdm", "fixations"} & set(self.needs) else "model"


@dataclasses.dataclass
class ImageData:
    """What the metrics of one image may use. gfdm (h, w) in [0, 1] or None; fixations (N, 2) of
    (x, y) in GFDM pixels or None; other_fixations: those of the other images of the data set, in
    this image's GFDM pixels (sAUC); the model and its CurveScorer; seed: this image's seed (from the
    run's seed and the image name); deletion_baseline / insertion_start: the causal curves' fills
    (see causal.fill_image); scanpaths: the participants' (N, 3) fixations (x, y, duration) in
    GFDM pixels, with the sigma (GFDM pixels) and weighting of their GFDMs (the human ceiling);
    native {id(map): fn(shape) -> map}: how to build a map at another size instead of resizing it
    (the reference maps, see references.maps); explainers {method: explainer} only when the
    robustness metric runs; options: the opt-in metrics' options turned on in this run (e.g.
    {"road"}); `curves` is filled by curve metrics."""
    name: str
    img: np.ndarray
    class_index: int
    gfdm: Optional[np.ndarray] = None
    fixations: Optional[np.ndarray] = None
    model: object = None
    scorer: object = None
    step: int = constants.STEP
    seed: int = 0
    other_fixations: Optional[np.ndarray] = None
    explainers: Optional[dict] = None
    deletion_baseline: object = constants.DELETION_BASELINE
    insertion_start: object = constants.INSERTION_START
    scanpaths: Optional[list] = None
    scanpath_sigma: float = constants.GFDM_SIGMA_MEXCULTURE
    gfdm_weighting: str = "count"
    native: dict = dataclasses.field(default_factory=dict)
    options: frozenset = frozenset()
    curves: dict = dataclasses.field(default_factory=dict)
    cache: dict = dataclasses.field(default_factory=dict)

    def enabled(self, metric) -> bool:
        """Whether the metric runs for this image: its needs met and its option (if any) turned on."""
        if metric.option is not None and metric.option not in self.options:
            return False
        return all(self.has(n) for n in metric.needs)

    def has(self, need) -> bool:
        if need == "gfdm":
            return self.gfdm is not None
        if need == "fixations":
            return self.fixations is not None and len(self.fixations) > 0
        if need == "other_fixations":
            return self.other_fixations is not None and len(self.other_fixations) > 0
        if need == "explainers":
            return bool(self.explainers)
        if need == "scanpaths":
            return self.scanpaths is not None and len(self.scanpaths) >= MIN_SCANPATHS
        return self.model is not None


def needing(image, need) -> list:
    """The names of the metrics that need `need` and would run for this image were it met: their
    option (if any) on, their other needs met (those left empty when the image lacks `need`)."""
    return [m.name for m in all_metrics() if need in m.needs
            and (m.option is None or m.option in image.options) and all(image.has(n) for n in m.needs if n != need)]


_REGISTRY = {}


def register(metric: Metric) -> Metric:
    if metric.name in _REGISTRY and _REGISTRY[metric.name] is not metric:
        raise ValueError(f"a metric called {metric.name} is registered already")
    _REGISTRY[metric.name] = metric
    return metric


def unregister(name) -> None:
    _REGISTRY.pop(name, None)


def all_metrics() -> list:
    """Registered metrics in registration order (the seed's seven first)."""
    from xai_mexculture import explainers
    explainers.discover()  # modules that register metrics
    return list(_REGISTRY.values())


def names() -> list:
    return [m.name for m in all_metrics()]


def get(name) -> Metric:
    for metric in all_metrics():
        if metric.name == name:
            return metric
    raise ValueError(f"unknown metric '{name}' (known: {', '.join(names())})")


def is_host(metric) -> bool:
    """Whether a metric runs on the host alone (needs neither the model nor the explainers)."""
    return not {"model", "explainers"} & set(metric.needs)


def lower_is_better() -> list:
    return [m.name for m in all_metrics() if not m.higher_is_better]


def per_map(fn):
    """compute() from fn(image, saliency) -> float applied to each map."""
    return lambda image, maps: {method: fn(image, sal) for method, sal in maps.items()}


def evaluate_image(image: ImageData, maps: dict, only=None, skip=()) -> dict:
    """{method: {metric: value}} for every registered metric whose needs the image meets and whose
    option (if any) is on; the others are left out (empty in results.csv), and so is every metric of
    a flat map (image_io.is_flat: it ranks no pixel, so no metric says anything about it). only / skip: metric names
    to compute exclusively / to leave out (the pipeline computes the host metrics elsewhere; each
    metric's values do not depend on which others run)."""
    out = {method: {} for method in maps}
    ranked = {method: sal for method, sal in maps.items() if not image_io.is_flat(sal)}  # flat maps: no value
    for metric in all_metrics():
        if not image.enabled(metric) or metric.name in skip or (only is not None and metric.name not in only):
            continue
        if not ranked:
            break
        for method, value in metric.compute(image, ranked).items():
            out[method][metric.name] = float(value)
    return out


def at_gfdm(image, sal):
    """The map at the GFDM's resolution: resized once per image and map, or built at that size
    when it is a reference map (image.native)."""
    key = ("at_gfdm", id(sal))
    if key not in image.cache:
        build = image.native.get(id(sal))
        image.cache[key] = build(image.gfdm.shape) if build else image_io.resize_map(sal, image.gfdm.shape)
    return image.cache[key]
