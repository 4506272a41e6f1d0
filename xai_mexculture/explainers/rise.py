"""RISE, Randomized Input Sampling for Explanation (Petsiuk, Das, Saenko, "RISE: Randomized Input
Sampling for Explanation of Black-box Models", BMVC 2018).

N binary s x s grids with P(1) = p; cell = ceil(H / s); each grid is upsampled bilinearly to
(s + 1) * cell and cropped to H x W at a random shift in [0, cell) per mask. Each masked image
(image * mask) is scored by the softmax probability of the class, and
    map = sum_i score_i * mask_i / (N * p),
divided by its maximum. The grids and shifts (a few bytes per mask) are drawn on the host with numpy
from (seed, image name); the upsampling is a product with interpolation matrices made by OpenCV
(INTER_LINEAR, half-pixel centres), so a mask is the same on every backend and for every batch size.
Masks are built, applied and scored batch by batch inside one compiled call, and only the weighted
sum leaves it: memory does not grow with N.
"""
import math

import cv2
import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.core import model_io
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.registry import Param, at_least, check_class_indices, check_image, in_range


def _interpolation_matrix(s, cell) -> np.ndarray:
    """(s + 1) * cell x s matrix R with R @ g = bilinear upsampling of a length-s signal g."""
    return image_io.resize_matrix(s, (s + 1) * cell, cv2.INTER_LINEAR)


def draw_grids(rng, n_masks, mask_size, p, shape):
    """Low-resolution binary grids (N, s, s) and shifts (N, 2) = (dy, dx) from a numpy generator."""
    s = mask_size
    grids = (rng.random((n_masks, s, s)) < p).astype(np.float32)
    shifts = np.stack([rng.integers(0, math.ceil(shape[0] / s), n_masks),
                       rng.integers(0, math.ceil(shape[1] / s), n_masks)], axis=1)
    return grids, shifts


def interpolation(mask_size, shape):
    """Row and column interpolation matrices of the upsampled grids of an (H, W) image."""
    s = mask_size
    return _interpolation_matrix(s, math.ceil(shape[0] / s)), _interpolation_matrix(s, math.ceil(shape[1] / s))


def crop(ry, rx, shifts, shape):
    """Rows (n, H, s) and columns (n, W, s) of the interpolation matrices that the crop of each
    mask keeps: mask_i = ry_i @ grid_i @ rx_i.T."""
    return (ry[shifts[:, :1] + np.arange(shape[0])[None, :]],
            rx[shifts[:, 1:] + np.arange(shape[1])[None, :]])


@registry.register(in_all=True)
class RISEExplainer(registry.Explainer):
    """RISE for a batch of images; see the module docstring."""
    name = "RISE"
    description = "RISE (Petsiuk et al. 2018)"
    params = (Param("n_masks", "rise_masks", int, constants.RISE_N_MASKS, "RISE: number of masks", check=at_least(1)),
              Param("mask_size", "rise_grid", int, constants.RISE_MASK_SIZE, "RISE: grid size s", check=at_least(1)),
              Param("p", "rise_p", float, constants.RISE_P, "RISE: probability that a grid cell is kept",
                    check=in_range(0, 1)))

    quick_params = {"n_masks": 64}
    bench_target = "<= 1.15"

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def evaluations_per_image(self):
        return self.n_masks

    def _body(self, img, grids, shifts, ry, rx, weights, class_index):
        """Upsample and crop a batch of grids, mask the image, score the class; returns the scores
        and sum_i weight_i score_i mask_i: no mask leaves the compiled call. The crops of the
        interpolation matrices (see `crop`) are taken here, from the shifts."""
        from keras import ops
        h, w = ops.shape(img)[0], ops.shape(img)[1]
        ry_c = ops.take(ry, shifts[:, :1] + ops.expand_dims(ops.arange(h, dtype="int32"), 0), axis=0)  # (n, H, s)
        rx_c = ops.take(rx, shifts[:, 1:] + ops.expand_dims(ops.arange(w, dtype="int32"), 0), axis=0)  # (n, W, s)
        rows = ops.matmul(ry_c, grids)  # (n, H, s): grids upsampled along the rows
        masks = ops.einsum("nht,nwt->nhw", rows, rx_c)
        probs = self.model(ops.expand_dims(img, 0) * ops.expand_dims(masks, -1), training=False)
        scores = ops.take(probs, class_index, axis=1)
        # sum_i w_i s_i mask_i as one (H, n*s) x (n*s, W) product: cheaper than reducing masks
        weighted = ops.einsum("nht,nwt->hw", rows * (scores * weights)[:, None, None], rx_c)
        return scores, weighted

    def grids(self, shape, key=None):
        """The grids and shifts of one image (seeded from (seed, key))."""
        return draw_grids(self.rng(key), self.n_masks, self.mask_size, self.p, shape)

    def explain_one(self, img, class_index, key=None):
        """(map before normalisation (H, W) float64, scores (N,)) of one image."""
        total, scores, _ = self.explain_halves(img, class_index, key)
        return total, scores

    def explain_halves(self, img, class_index, key=None):
        """(map before normalisation (H, W) float64, scores (N,), the sum of its first N // 2 masks
        alone (same scale)) of one image: the halves are fixed by the masks' order, not by the
        batches, so the reliability does not depend on the batch size. The first half's sum is the
        sum of the batches inside it, plus, for the one batch across its end, that batch's
        first-half masks made again on the host (numpy, as `RISE.generate_masks`) and weighted by
        their scores: no extra model evaluation and no extra work in the compiled call (a second
        weighted sum there made RISE 16% slower on the demo model)."""
        shape = img.shape[:2]
        ry, rx = interpolation(self.mask_size, shape)
        grids, shifts = self.grids(shape, key)
        total = np.zeros(shape, np.float64)
        first_half = np.zeros(shape, np.float64)
        scores = np.empty(self.n_masks, np.float64)
        img_t, cls = backend.to_tensor(img), backend.to_tensor(class_index, "int32")
        ry_t, rx_t = backend.to_tensor(ry), backend.to_tensor(rx)
        shifts = shifts.astype(np.int32)
        started = []  # every batch started before any result is read (see backend.stack_batches)
        for start, real, idx in backend.batches(self.n_masks, self.batch_size):
            weights = (np.arange(len(idx)) < real).astype(np.float32)
            started.append((start, real, self._fn(img_t, grids[idx], shifts[idx], ry_t, rx_t, weights, cls)))
        half = self.n_masks // 2
        for start, real, (s, weighted) in started:
            scores[start:start + real] = backend.to_numpy(s)[:real]
            weighted = backend.to_numpy(weighted).astype(np.float64)
            total += weighted
            if start + real <= half:
                first_half += weighted
            elif start < half:  # the batch across the halves' boundary: its first-half masks on the host
                ry_c, rx_c = crop(ry, rx, shifts[start:half], shape)
                masks = np.einsum("nhs,nst,nwt->nhw", ry_c, grids[start:half], rx_c, optimize=True)
                first_half += np.tensordot(scores[start:half], masks, axes=1)
        scale = self.n_masks * self.p
        return total / scale, scores, first_half / scale

    stochastic = True

    def _explain(self, images, class_indices, keys):
        out = []
        for img, c, key in zip(images, class_indices, keys):
            total, _, first = self.explain_halves(img, int(c), key)
            out.append(registry.Sampled(total, first, total - first))
        return out


class RISE:
    """RISE map of `class_index` for one image (the seed's API), a thin wrapper over RISEExplainer:
    `RISE(model, img_array, class_index, n_masks=4000, mask_size=7, threshold=0.5, seed=0)`.
    `threshold` is p, the probability that a grid cell is kept. `generate_masks`,
    `obtain_prediction_scores` and `weight_saliency_maps` are the plain numpy reference of the
    fused computation (tests compare the two)."""

    def __init__(self, model, img_array, class_index, n_masks=constants.RISE_N_MASKS,
                 mask_size=constants.RISE_MASK_SIZE, threshold=constants.RISE_P, seed=constants.SEED,
                 batch_size=constants.BATCH_SIZE, chunk_size=constants.RISE_CHUNK, key=None):
        self.model = model
        self.img_array = check_image(img_array)
        self.class_index = int(check_class_indices(model, [class_index], 1)[0])
        if n_masks < 1 or mask_size < 1 or not 0 < threshold <= 1:
            raise ValueError("RISE needs n_masks >= 1, mask_size >= 1 and 0 < threshold <= 1")
        self.n_masks, self.mask_size, self.threshold = int(n_masks), int(mask_size), float(threshold)
        self.seed, self.batch_size, self.chunk_size, self.key = seed, int(batch_size), int(chunk_size), key

    def _explainer(self):
        return registry.shared(RISEExplainer, self.model, batch_size=self.batch_size, seed=self.seed,
                                 n_masks=self.n_masks, mask_size=self.mask_size, p=self.threshold)

    def draw_grids(self):
        """All low-resolution binary grids (N, s, s) and shifts (N, 2) = (dy, dx), from the seed."""
        rng = np.random.default_rng(registry.seed_for(self.seed, self.key))
        return draw_grids(rng, self.n_masks, self.mask_size, self.threshold, self.img_array.shape)

    def generate_masks(self):
        """Yield the masks in chunks of at most chunk_size: float32 (n, H, W) in [0, 1]."""
        ry, rx = interpolation(self.mask_size, self.img_array.shape)
        grids, shifts = self.draw_grids()
        for start in range(0, self.n_masks, self.chunk_size):
            ry_c, rx_c = crop(ry, rx, shifts[start:start + self.chunk_size], self.img_array.shape)
            g = grids[start:start + self.chunk_size]
            yield np.einsum("nhs,nst,nwt->nhw", ry_c, g, rx_c, optimize=True).astype(np.float32)

    def obtain_prediction_scores(self, masks) -> np.ndarray:
        """Softmax probability of the class for each masked image (image * mask): (n,)."""
        masked = self.img_array[None] * masks[..., None]
        return model_io.class_scores(self.model, masked, self.class_index, self.batch_size)

    @staticmethod
    def weight_saliency_maps(scores, masks) -> np.ndarray:
        """sum_i score_i * mask_i over a chunk: (H, W)."""
        return np.tensordot(np.asarray(scores, np.float64), masks, axes=1)

    def calculate_saliency_map(self, weighted_sum) -> np.ndarray:
        """Normalise the weighted sum by N * p, then divide by the maximum."""
        return image_io.normalise(weighted_sum / (self.n_masks * self.threshold))

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1], computed by RISEExplainer (fused, batched)."""
        return self._explainer().explain(self.img_array[None], [self.class_index], keys=[self.key])[0]
