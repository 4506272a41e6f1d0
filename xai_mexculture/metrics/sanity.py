"""Model-randomisation sanity check, cascading (Adebayo et al., "Sanity Checks for Saliency Maps",
NeurIPS 2018).

A saliency method that explains the model must change when the model's learned weights are
destroyed. The model's weighted layers (`model_graph.weighted_layers`: nested backbones recursed
into, batch normalisation included) are re-initialised from the output backwards, in the order of
the flattened layer list: depth d re-initialises the top d of them (cumulative). Each layer gets its
own initializers (kernel_initializer, bias_initializer, gamma_initializer, moving_mean_initializer,
...: a batch normalisation layer goes back to gamma 1, beta 0, moving mean 0, moving variance 1),
seeded per weight from (seed, "layer/weight"). Everything happens on a copy
(`keras.models.clone_model`, nested models cloned too, then the weights copied): the original model
is never modified.

Each image is re-explained by every method on the randomised copy with the same seed and key as the
original map, and the two maps are compared by the Spearman rank correlation of their pixels and by
SSIM (data_range 1). A method whose maps stay close to the original (mean Spearman > 0.5 at the
deepest depth) depends little on the weights it is supposed to explain.

Spearman of a constant map is undefined: two identical maps count as 1; otherwise a constant map
(e.g. an all-zero Grad-CAM map of a randomised model) counts as 0, no rank association, with a
warning (leaving it out would hide exactly the maps that changed most).

    cascade = sanity.Cascade(model, k=5, seed=0)   # one copy; explainers built on cascade.model
    cascade.set_depth(3)                          # the top 3 weighted layers re-initialised
    for depth, layer, copy in sanity.randomised_copies(model, k=5, seed=0): ...   # separate copies
"""
import csv
import io
import logging
import math
from pathlib import Path

import numpy as np

from xai_mexculture import explainers
from xai_mexculture.core import backend
from xai_mexculture.core import model_graph
from xai_mexculture.core import safe_io

log = logging.getLogger(__name__)
COLUMNS = ["image", "method", "randomised_layers", "layer", "spearman", "ssim"]
CLOSE = 0.5  # mean Spearman above this at the deepest depth: the maps stay close to the original
REFERENCE = 'Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018'


# Weights whose initializer attribute is not "<weight>_initializer".
_OTHER_ATTRIBUTES = {"kernel": ("depthwise_initializer",)}


def cascade_layers(model, k) -> list:
    """The top k weighted layers of `model`, output first: what depths 1..k re-initialise."""
    layers = model_graph.weighted_layers(model)
    if int(k) < 1:
        raise ValueError(f"the number of layers to randomise must be >= 1, not {k}")
    if not layers:
        raise ValueError(f"model '{model.name}' has no layer with learned weights to randomise")
    if int(k) > len(layers):
        raise ValueError(f"model '{model.name}' has {len(layers)} weighted layers; cannot randomise the top {k}")
    return layers[::-1][:int(k)]


def initializer_of(layer, variable):
    """The layer's own initializer of one of its weights (`<weight>_initializer`, e.g. gamma ->
    gamma_initializer, depthwise_kernel -> depthwise_initializer)."""
    import keras
    name = variable.name.split("/")[-1]
    candidates = [f"{name}_initializer"]
    if name.endswith("_kernel"):
        candidates.append(f"{name[:-len('_kernel')]}_initializer")
    candidates += _OTHER_ATTRIBUTES.get(name, ())
    for attribute in candidates:
        found = getattr(layer, attribute, None)
        if found is not None:
            return keras.initializers.get(found)
    raise ValueError(f"layer '{layer.name}' ({type(layer).__name__}) has no initializer for its weight "
                     f"'{name}' (looked for {', '.join(candidates)}): the sanity check re-initialises each "
                     f"layer with its own initializers")


def _seeded(initializer, seed):
    """The same initializer with `seed` (initializers without randomness are returned as they are)."""
    config = initializer.get_config() if hasattr(initializer, "get_config") else {}
    if "seed" not in config:
        return initializer
    return type(initializer).from_config({**config, "seed": int(seed)})


def initial_values(layer, seed) -> list:
    """Fresh values of each of the layer's weights (in `layer.weights` order) from its own
    initializers, seeded from (seed, "layer name/weight name")."""
    values = []
    for variable in layer.weights:
        name = variable.name.split("/")[-1]
        init = _seeded(initializer_of(layer, variable), explainers.seed_for(seed, f"{layer.name}/{name}"))
        values.append(backend.to_numpy(init(shape=tuple(variable.shape), dtype=variable.dtype)))
    return values


def copy_model(model):
    """A separate model with the same architecture and weights (nested models copied too), sharing
    no variable with `model`."""
    import keras
    try:
        clone = keras.models.clone_model(model, recursive=True)
        clone.set_weights(model.get_weights())
    except Exception as err:  # clone_model raises many types (a layer without get_config, ...)
        raise ValueError(f"the sanity check cannot copy model '{model.name}' (keras.models.clone_model: "
                         f"{type(err).__name__}: {err})") from err
    original = [layer.name for layer in model_graph.weighted_layers(model)]
    if [layer.name for layer in model_graph.weighted_layers(clone)] != original:
        raise ValueError(f"the copy of model '{model.name}' has other weighted layers than the model")
    return clone


class Cascade:
    """One copy of `model` and its top k weighted layers (output first, `names`), each with its
    trained and its re-initialised weights. `set_depth(d)` re-initialises the top d and restores the
    others, in place: explainers built once on `cascade.model` see the change (compiled functions
    read the variables when they run, on both backends)."""

    def __init__(self, model, k=5, seed=0):
        self.model = copy_model(model)
        self.layers = cascade_layers(self.model, k)
        self.names = [layer.name for layer in self.layers]
        self.seed = int(seed)
        self._trained = [layer.get_weights() for layer in self.layers]
        self._random = [initial_values(layer, seed) for layer in self.layers]
        self.depth = 0

    def set_depth(self, depth) -> None:
        if not 0 <= int(depth) <= len(self.layers):
            raise ValueError(f"depth must be in [0, {len(self.layers)}], not {depth}")
        for i, layer in enumerate(self.layers):
            layer.set_weights(self._random[i] if i < depth else self._trained[i])
        self.depth = int(depth)


def randomised_copies(model, k=5, seed=0):
    """Yields (depth, name of the depth-th layer, copy) for depth 1..k: a separate copy of `model`
    per depth with its top `depth` weighted layers re-initialised (the same values at every depth
    and in every call with this seed). `model` itself is not modified."""
    for depth in range(1, int(k) + 1):
        cascade = Cascade(model, depth, seed)
        cascade.set_depth(depth)
        yield depth, cascade.names[-1], cascade.model


def spearman(original, randomised, warn=True) -> float:
    """Spearman rank correlation of the pixels of two maps: 1 for identical maps, 0 (with a warning
    unless `warn` is False) when one of them is constant and they differ (no rank association); see
    the module docstring."""
    from xai_mexculture.core import stats
    a = np.asarray(original, np.float64).ravel()
    b = np.asarray(randomised, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"maps of different sizes: {np.shape(original)} and {np.shape(randomised)}")
    if np.array_equal(a, b):
        return 1.0
    if is_constant(a) or is_constant(b):
        if warn:
            log.warning("sanity check: a constant map (value %.3g); its Spearman correlation counts as 0",
                        a[0] if is_constant(a) else b[0])
        return 0.0
    return stats.spearman(a, b)


def is_constant(array) -> bool:
    array = np.asarray(array)
    return bool(array.min() == array.max())


def ssim(original, randomised) -> float:
    """SSIM (skimage, data_range 1, 7 x 7 windows, smaller for maps under 7 pixels a side)."""
    from skimage.metrics import structural_similarity
    a, b = np.asarray(original, np.float64), np.asarray(randomised, np.float64)
    side = min(a.shape)
    win = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(a, b, data_range=1.0, win_size=win))


def check_image(cascade, copies, img, target, key, originals, bar=None) -> list:
    """Rows of one image: every method of `copies` ({method: explainer built on cascade.model}) at
    depths 1..k, compared with `originals` ({method: the run's map}). Leaves the copy at depth 0."""
    rows, constant = [], []
    try:
        for depth in range(1, len(cascade.layers) + 1):
            cascade.set_depth(depth)
            for method, explainer in copies.items():
                if bar is not None:
                    bar.set_postfix_str(f"{key} {method} depth {depth}")
                original = originals[method]
                randomised = explainer.explain(np.asarray(img)[None], [target], keys=[key])[0]
                rows.append(dict(image=key, method=method, randomised_layers=depth, layer=cascade.names[depth - 1],
                                 spearman=spearman(original, randomised, warn=False),
                                 ssim=ssim(original, randomised)))
                if not np.array_equal(original, randomised) and (is_constant(original) or is_constant(randomised)):
                    constant.append(f"{method} at depth {depth}")
                if bar is not None:
                    bar.update(1)
    finally:
        cascade.set_depth(0)
    if constant:
        log.warning("sanity check of %s: a constant map (original or randomised) for %s; Spearman counts as 0 "
                    "there", key, ", ".join(constant))
    return rows


def write_rows(path, rows) -> None:
    """sanity.csv, replaced atomically (a crash leaves the previous complete file)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "spearman": _fmt(row["spearman"]), "ssim": _fmt(row["ssim"])})
    safe_io.write_text(path, buffer.getvalue())


def _fmt(value):
    return f"{value:.6f}" if math.isfinite(value) else ""


def read_rows(path) -> list:
    """Rows of a sanity.csv (randomised_layers int, spearman and ssim float, NaN where empty); []
    when absent."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["randomised_layers"] = int(row["randomised_layers"])
        for key in ("spearman", "ssim"):
            row[key] = float(row[key]) if row.get(key) not in ("", None) else math.nan
    return rows


def by_method_and_depth(rows, column):
    """{method: {depth: (layer, values)}} in the rows' order."""
    out = {}
    for row in rows:
        layer, values = out.setdefault(row["method"], {}).setdefault(row["randomised_layers"], (row["layer"], []))
        values.append(row[column])
    return out


def means_at_deepest(rows) -> dict:
    """{method: mean Spearman over images at the deepest depth of the rows}."""
    if not rows:
        return {}
    deepest = max(r["randomised_layers"] for r in rows)
    out = {}
    for method, depths in by_method_and_depth(rows, "spearman").items():
        if deepest in depths:
            values = np.asarray(depths[deepest][1], np.float64)
            values = values[np.isfinite(values)]
            out[method] = float(values.mean()) if values.size else math.nan
    return out


def close_methods(rows, threshold=CLOSE) -> list:
    """Methods whose mean Spearman at the deepest depth is above `threshold`."""
    return [m for m, v in means_at_deepest(rows).items() if math.isfinite(v) and v > threshold]


def summary_text(rows) -> str:
    """The summary's paragraph on the sanity check (Markdown)."""
    if not rows:
        return "Sanity check (model randomisation): no image completed.\n"
    deepest = max(r["randomised_layers"] for r in rows)
    last = next(r["layer"] for r in rows if r["randomised_layers"] == deepest)
    means = means_at_deepest(rows)
    n = len({r["image"] for r in rows})
    listed = ", ".join(f"{m} {v:.2f}" for m, v in means.items())
    text = (f"Sanity check (cascading model randomisation, {REFERENCE}; sanity.csv, sanity.png): with the top "
            f"{deepest} weighted layers re-initialised (down to {last}), mean Spearman correlation of the maps "
            f"with the original ones over {n} image(s): {listed}. ")
    close = close_methods(rows)
    if close:
        text += (f"{', '.join(close)} {'stays' if len(close) == 1 else 'stay'} close to the original "
                 f"(mean Spearman > {CLOSE}): {'its' if len(close) == 1 else 'their'} maps depend little on "
                 f"the model's learned weights, so they say little about what the model learned.")
    else:
        text += f"Every method's maps change (mean Spearman <= {CLOSE} at depth {deepest})."
    return text + "\n"
