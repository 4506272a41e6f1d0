"""Causal metrics: Insertion and Deletion AUC, what the model says as pixels go in or out.

They follow Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", BMVC 2018: pixels in decreasing-saliency order (ties in raster order), `step`
pixels per step, n = ceil(HW / step) steps and n + 1 scores (softmax probability of the class).
Deletion replaces pixels with a baseline (black by default, as in the RISE paper; or the blurred
image, the image's mean colour, any number); insertion starts from a Gaussian-blurred copy (sigma 5,
11 x 11 kernel; or black, the mean colour, a number) and copies the original pixels in. AUC is the
trapezoid rule on x in [0, 1]. All perturbed images are assembled vectorised and scored in large
compiled batches.
"""
import logging
import math

import cv2
import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.metrics import gaze
from xai_mexculture.metrics.registry import Metric, register

log = logging.getLogger(__name__)


def calculate_auc(scores) -> float:
    """Area under a curve of n + 1 equally spaced scores on x in [0, 1] (trapezoid rule)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError("a curve needs at least two scores")
    return float((s.sum() - s[0] / 2 - s[-1] / 2) / (len(s) - 1))


def pixel_order(saliency) -> np.ndarray:
    """Rank of every pixel (flattened) in decreasing-saliency order; ties keep raster order."""
    flat = np.asarray(saliency, np.float64).ravel()
    order = np.argsort(-flat, kind="stable")
    rank = np.empty(flat.size, np.int64)
    rank[order] = np.arange(flat.size)
    return rank


def n_steps(shape, step) -> int:
    """Number of steps n = ceil(H * W / step) of a curve (it has n + 1 scores)."""
    if step < 1:
        raise ValueError("step must be >= 1 pixel")
    return math.ceil(int(shape[0]) * int(shape[1]) / int(step))


def blur(img_array) -> np.ndarray:
    """The insertion start: Gaussian blur with sigma 5 and an 11 x 11 kernel."""
    k = constants.BLUR_KSIZE
    return cv2.GaussianBlur(np.asarray(img_array, np.float32), (k, k), constants.BLUR_SIGMA)


def set_n_pixels_deletion(img_array, saliency, n_pixels, baseline=constants.DELETION_BASELINE):
    """The image with its n_pixels most salient pixels replaced by `baseline`."""
    img = np.asarray(img_array, np.float32)
    keep = pixel_order(saliency).reshape(img.shape[:2]) >= n_pixels
    return np.where(keep[..., None], img, fill_image(img, baseline))


def set_n_pixels_insertion(blurred, img_array, saliency, n_pixels):
    """The blurred image with the original values of its n_pixels most salient pixels copied in."""
    img = np.asarray(img_array, np.float32)
    insert = pixel_order(saliency).reshape(img.shape[:2]) < n_pixels
    return np.where(insert[..., None], img, np.asarray(blurred, np.float32))


FILLS = ("black", "blur", "mean")


def fill_image(img_array, fill) -> np.ndarray:
    """The (H, W, 3) float32 image a curve starts from or deletes to. `fill` is a number (every
    channel of every pixel), an (H, W, 3) array, "black" (0), "blur" (the insertion blur of the
    image) or "mean" (the image's mean colour)."""
    img = np.asarray(img_array, np.float32)
    if isinstance(fill, str):
        if fill == "black":
            return np.zeros_like(img)
        if fill == "blur":
            return blur(img)
        if fill == "mean":
            return np.broadcast_to(img.reshape(-1, img.shape[-1]).mean(axis=0), img.shape).astype(np.float32)
        raise ValueError(f"unknown baseline '{fill}' (known: {', '.join(FILLS)}, a number or an (H, W, 3) array)")
    arr = np.asarray(fill, np.float32)
    if arr.ndim == 0:
        if not np.isfinite(arr):
            raise ValueError(f"the baseline must be a finite number, got {fill}")
        return np.full_like(img, arr)
    if arr.shape != img.shape:
        raise ValueError(f"a baseline array must have the image's shape {img.shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("the baseline array holds NaN or inf")
    return arr


def fill_label(fill) -> str:
    """How a fill is written in results.csv and the manifest: its name, or the number."""
    if isinstance(fill, str):
        return fill
    arr = np.asarray(fill)
    return f"{float(arr):g}" if arr.ndim == 0 else "array"


def _curve_inputs(img, saliency, kind, baseline, start="blur"):
    """(rank (H, W), start image, source image) of one curve: at step k the pixels of rank
    < k * step come from the source, the others from the start."""
    sal = image_io.resize_map(gaze.finite("saliency map", saliency), img.shape[:2])
    rank = pixel_order(sal).reshape(img.shape[:2]).astype(np.int32)
    if kind == "deletion":
        return rank, img, fill_image(img, baseline)
    if kind == "insertion":
        return rank, fill_image(img, start), img
    raise ValueError(f"unknown curve kind '{kind}'")


class CurveScorer:
    """Scores insertion/deletion curves for one model: the perturbed images of a batch are
    assembled from (curve, pixel count) pairs inside one compiled call (keras.ops, either backend)
    and scored there. Build it once per model; `causal_curves(..., scorer=...)` reuses it."""

    def __init__(self, model, batch_size=constants.BATCH_SIZE, jit=True):
        self.model, self.batch_size = model, int(batch_size)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def _body(self, ranks, starts, sources, curve, n_pixels, class_index):
        from keras import ops
        take = ops.take(ranks, curve, axis=0) < ops.reshape(n_pixels, (-1, 1, 1))
        images = ops.where(ops.expand_dims(take, -1), ops.take(sources, curve, axis=0),
                           ops.take(starts, curve, axis=0))
        return ops.take(self.model(images, training=False), class_index, axis=1)

    def __call__(self, ranks, starts, sources, pixels, class_index) -> np.ndarray:
        """Scores (n_curves, len(pixels)) of the curves given by ranks/starts/sources (stacked)."""
        n_curves = len(ranks)
        ranks, starts, sources = (backend.to_tensor(a, dt) for a, dt in
                                  ((ranks, "int32"), (starts, "float32"), (sources, "float32")))
        cls = backend.to_tensor(int(class_index), "int32")
        curve = np.repeat(np.arange(n_curves, dtype=np.int32), len(pixels))
        n_pixels = np.tile(np.asarray(pixels, np.int32), n_curves)
        scores = backend.stack_batches(self._fn, len(curve), self.batch_size,
                                       lambda idx: (ranks, starts, sources, curve[idx], n_pixels[idx], cls))
        return scores.astype(np.float64).reshape(n_curves, len(pixels))


def curve_scorer(model, batch_size=constants.BATCH_SIZE, jit=True) -> CurveScorer:
    """The CurveScorer of a model (one per model, batch size and jit setting, held weakly)."""
    return backend.per_model(model, CurveScorer, batch_size, jit)


def causal_curves(model, img_array, saliency_maps, class_index, step=constants.STEP,
                  kinds=("insertion", "deletion"), baseline=constants.DELETION_BASELINE,
                  batch_size=constants.BATCH_SIZE, scorer=None, start=constants.INSERTION_START):
    """Insertion and/or deletion curves of several saliency maps of the same image, scored together.

    saliency_maps: a dict name -> (H, W) map (resized to the image when needed). baseline: what
    deletion replaces pixels with; start: what insertion starts from (see `fill_image`).
    Returns {name: {kind: (scores (n + 1,), auc)}}. The (n + 1) images of every curve are built
    inside one compiled call per batch from the pixel ranks, so a batch mixes curves and only the
    very last batch is padded.
    """
    img = np.asarray(img_array, np.float32)
    n = n_steps(img.shape[:2], step)
    pixels = np.minimum(np.arange(n + 1) * int(step), img.shape[0] * img.shape[1]).astype(np.int32)
    names = [(name, kind) for name in saliency_maps for kind in kinds]
    if not names:
        return {}
    fills = {"deletion": fill_image(img, baseline) if "deletion" in kinds else None,
             "insertion": fill_image(img, start) if "insertion" in kinds else None}
    parts = [_curve_inputs(img, saliency_maps[name], kind, fills["deletion"], fills["insertion"])
             for name, kind in names]
    scorer = scorer or curve_scorer(model, batch_size)
    scores = scorer(*(np.stack([p[i] for p in parts]) for i in range(3)), pixels, class_index)
    out = {}
    for (name, kind), row in zip(names, scores):
        out.setdefault(name, {})[kind] = (row, calculate_auc(row))
    return out


def deletion(model, img_array, saliency, class_index, step=constants.STEP,
             baseline=constants.DELETION_BASELINE, batch_size=constants.BATCH_SIZE):
    """Deletion curve and AUC (lower is better): (scores (n + 1,), auc). baseline: a number, an
    (H, W, 3) array, "black", "blur" or "mean" (the image's mean colour)."""
    res = causal_curves(model, img_array, {"map": saliency}, class_index, step, ("deletion",),
                        baseline, batch_size)
    return res["map"]["deletion"]


def insertion(model, img_array, saliency, class_index, step=constants.STEP,
              batch_size=constants.BATCH_SIZE, start=constants.INSERTION_START):
    """Insertion curve and AUC (higher is better): (scores (n + 1,), auc). start: "blur" (the
    default, sigma 5), "black", "mean", a number or an (H, W, 3) array."""
    res = causal_curves(model, img_array, {"map": saliency}, class_index, step, ("insertion",),
                        batch_size=batch_size, start=start)
    return res["map"]["insertion"]


def _curves(image, maps):
    """Insertion and deletion curves of all maps of the image, scored together once."""
    if "causal" not in image.cache:
        image.cache["causal"] = causal_curves(image.model, image.img, maps, image.class_index,
                                                       image.step, baseline=image.deletion_baseline,
                                                       scorer=image.scorer, start=image.insertion_start)
    return image.cache["causal"]


def _causal(kind):
    def compute(image, maps):
        curves = _curves(image, maps)
        image.curves[kind.capitalize()] = {m: curves[m][kind][0] for m in maps}
        return {m: curves[m][kind][1] for m in maps}
    return compute


register(Metric("Insertion", True, ("model",), _causal("insertion"), curve=True,
                description="insertion AUC (from --insertion_start, blurred by default)"))
register(Metric("Deletion", False, ("model",), _causal("deletion"), curve=True,
                description="deletion AUC (to --deletion_baseline, black by default)"))
