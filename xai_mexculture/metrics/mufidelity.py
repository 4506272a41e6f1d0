"""MuFidelity (Bhatt, Weller, Moura, IJCAI 2020): does the saliency mass of removed cells predict the
drop of the class probability?
"""
import math

import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.metrics.gaze import finite, zscore
from xai_mexculture.metrics.registry import Metric, register


class MuFidelityScorer:
    """The perturbations of MuFidelity for one model: images with grid cells set to the baseline,
    built from the cell patterns inside one compiled call per batch and scored there."""

    def __init__(self, model, batch_size=constants.BATCH_SIZE, jit=True):
        self.model, self.batch_size = model, int(batch_size)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def _body(self, img, removed, row_cell, col_cell, baseline, class_index):
        from keras import ops
        mask = ops.take(ops.take(removed, row_cell, axis=1), col_cell, axis=2)  # (b, H, W)
        images = ops.where(ops.expand_dims(mask > 0, -1), ops.expand_dims(baseline, 0), ops.expand_dims(img, 0))
        return ops.take(self.model(images, training=False), class_index, axis=1)

    def drops(self, img, class_index, removed, baseline=0.0):
        """p_c(x) - p_c(x with the removed cells set to the baseline), one per pattern (n,)."""
        img = np.asarray(img, np.float32)
        h, w = img.shape[:2]
        g = removed.shape[1]
        cell_h, cell_w = math.ceil(h / g), math.ceil(w / g)
        row_cell, col_cell = np.arange(h) // cell_h, np.arange(w) // cell_w
        base = np.broadcast_to(np.asarray(baseline, np.float32), img.shape).astype(np.float32)
        cls = np.int32(class_index)
        # the full image is the pattern that removes nothing, scored in the same batches (a call of
        # its own would cost more than that one evaluation)
        patterns = np.concatenate([np.zeros((1,) + removed.shape[1:], np.float32), removed.astype(np.float32)])
        img, base = backend.to_tensor(img), backend.to_tensor(base)  # sent to the device once
        scores = backend.stack_batches(self._fn, len(patterns), self.batch_size,
                                       lambda idx: (img, patterns[idx], row_cell, col_cell, base, cls))
        scores = scores.astype(np.float64)
        return scores[0] - scores[1:]


def mufidelity_scorer(model, batch_size=constants.BATCH_SIZE, jit=True) -> MuFidelityScorer:
    """The MuFidelityScorer of a model (one per model, batch size and jit setting, held weakly)."""
    return backend.per_model(model, MuFidelityScorer, batch_size, jit)


def mufidelity_patterns(grid_size=9, subset_percent=0.2, n_samples=200, seed=0) -> np.ndarray:
    """The removed cells of each MuFidelity sample: (n_samples, g, g) of 0/1, seeded."""
    rng = np.random.default_rng(seed)
    return (rng.random((n_samples, grid_size, grid_size)) < subset_percent).astype(np.float32)


def mufidelity_from_drops(saliency, removed, drops) -> float:
    """Pearson correlation between the saliency mass of the removed cells and the drops."""
    sal = finite("saliency map", saliency)
    h, w = sal.shape
    g = removed.shape[1]
    cell_h, cell_w = math.ceil(h / g), math.ceil(w / g)
    padded = np.zeros((g * cell_h, g * cell_w))
    padded[:h, :w] = sal
    mass = padded.reshape(g, cell_h, g, cell_w).sum(axis=(1, 3))  # saliency per cell (edge cells cropped)
    attributed = removed.reshape(len(removed), -1) @ mass.ravel()
    za, zd = zscore("saliency mass of the removed cells", attributed), zscore("class probability drop", drops)
    if za is None or zd is None:
        return 0.0
    return float(np.mean(za * zd))


def calculate_mufidelity(model, img_array, saliency, class_index, grid_size=9, subset_percent=0.2,
                         n_samples=200, baseline=0.0, seed=0, batch_size=constants.BATCH_SIZE) -> float:
    """MuFidelity (Bhatt, Weller, Moura, "Evaluating and Aggregating Feature-based Model
    Explanations", IJCAI 2020, Definition 3): a grid_size x grid_size grid (cell = ceil(H / g) pixels,
    edge cells cropped); each of n_samples seeded samples removes every cell (sets it to `baseline`)
    with probability subset_percent; the Pearson correlation over the samples between the saliency
    mass of the removed cells and the drop of the class probability (0 with a warning when either is
    constant). Higher is better. (Xplique's version uses Spearman and other cells: not comparable.)"""
    img = np.asarray(img_array, np.float32)
    sal = image_io.resize_map(finite("saliency map", saliency), img.shape[:2])
    removed = mufidelity_patterns(grid_size, subset_percent, n_samples, seed)
    drops = mufidelity_scorer(model, batch_size).drops(img, class_index, removed, baseline)
    return mufidelity_from_drops(sal, removed, drops)


def _mufidelity(image, maps):
    """MuFidelity of every map: the perturbed images do not depend on the map, so they are scored
    once per image."""
    removed = mufidelity_patterns(seed=image.seed)
    if "mufidelity" not in image.cache:
        batch_size = image.scorer.batch_size if image.scorer is not None else constants.BATCH_SIZE
        scorer = mufidelity_scorer(image.model, batch_size)
        image.cache["mufidelity"] = scorer.drops(image.img, image.class_index, removed)
    return {m: mufidelity_from_drops(s, removed, image.cache["mufidelity"]) for m, s in maps.items()}


register(Metric("MuFidelity", True, ("model",), _mufidelity,
                description="correlation of removed saliency mass and probability drop (9 x 9 grid)"))
