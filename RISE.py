"""RISE, Randomized Input Sampling for Explanation (Petsiuk, Das, Saenko, "RISE: Randomized Input
Sampling for Explanation of Black-box Models", BMVC 2018).

N binary s x s grids with P(1) = p; cell = ceil(H / s); each grid is upsampled bilinearly to
(s + 1) * cell and cropped to H x W at a random shift in [0, cell) per mask. Each masked image
(image * mask) is scored by the softmax probability of the class, and
    map = sum_i score_i * mask_i / (N * p),
divided by its maximum. Masks are generated and scored in chunks, so peak memory does not grow with
N: the low-resolution grids and shifts of all masks are drawn first (a few bytes per mask, so the
masks do not depend on the chunk size), then each chunk is upsampled as one matrix product.
"""
import math

import cv2
import numpy as np

import constants
import utils
from cam_base import check_class_index, check_image


def _interpolation_matrix(s, cell) -> np.ndarray:
    """(s + 1) * cell x s matrix R with R @ g = bilinear upsampling of a length-s signal g."""
    up = (s + 1) * cell
    eye = np.eye(s, dtype=np.float32)
    return cv2.resize(eye, (s, up), interpolation=cv2.INTER_LINEAR)  # rows upsampled, columns kept


class RISE:
    """RISE map of `class_index` for one image; see the module docstring."""

    def __init__(self, model, img_array, class_index, n_masks=constants.RISE_N_MASKS,
                 mask_size=constants.RISE_MASK_SIZE, threshold=constants.RISE_P, seed=constants.SEED,
                 batch_size=constants.BATCH_SIZE, chunk_size=constants.RISE_CHUNK):
        self.model = model
        self.img_array = check_image(img_array)
        self.class_index = check_class_index(model, class_index)
        if n_masks < 1 or mask_size < 1 or not 0 < threshold <= 1:
            raise ValueError("RISE needs n_masks >= 1, mask_size >= 1 and 0 < threshold <= 1")
        self.n_masks, self.mask_size, self.threshold = int(n_masks), int(mask_size), float(threshold)
        self.seed, self.batch_size, self.chunk_size = seed, int(batch_size), int(chunk_size)
        self.scores = None

    def draw_grids(self):
        """All low-resolution binary grids (N, s, s) and shifts (N, 2) = (dy, dx), from the seed."""
        h, w = self.img_array.shape[:2]
        s = self.mask_size
        rng = np.random.default_rng(self.seed)
        grids = (rng.random((self.n_masks, s, s)) < self.threshold).astype(np.float32)
        shifts = np.stack([rng.integers(0, math.ceil(h / s), self.n_masks),
                           rng.integers(0, math.ceil(w / s), self.n_masks)], axis=1)
        return grids, shifts

    def _interpolation(self):
        """Row and column interpolation matrices of the upsampled grids."""
        h, w = self.img_array.shape[:2]
        s = self.mask_size
        return _interpolation_matrix(s, math.ceil(h / s)), _interpolation_matrix(s, math.ceil(w / s))

    @staticmethod
    def _crop(ry, rx, shifts, shape):
        """Rows (n, H, s) and columns (n, W, s) of the interpolation matrices that the crop of each
        mask keeps: mask_i = ry_i @ grid_i @ rx_i.T."""
        return ry[shifts[:, :1] + np.arange(shape[0])[None, :]], rx[shifts[:, 1:] + np.arange(shape[1])[None, :]]

    def generate_masks(self):
        """Yield the masks in chunks of at most chunk_size: float32 (n, H, W) in [0, 1]."""
        ry, rx = self._interpolation()
        grids, shifts = self.draw_grids()
        for start in range(0, self.n_masks, self.chunk_size):
            ry_c, rx_c = self._crop(ry, rx, shifts[start:start + self.chunk_size], self.img_array.shape)
            g = grids[start:start + self.chunk_size]
            yield np.einsum("nhs,nst,nwt->nhw", ry_c, g, rx_c, optimize=True).astype(np.float32)

    def obtain_prediction_scores(self, masks) -> np.ndarray:
        """Softmax probability of the class for each masked image (image * mask): (n,)."""
        masked = self.img_array[None] * masks[..., None]
        return utils.class_scores(self.model, masked, self.class_index, self.batch_size)

    @staticmethod
    def weight_saliency_maps(scores, masks) -> np.ndarray:
        """sum_i score_i * mask_i over a chunk: (H, W)."""
        return np.tensordot(np.asarray(scores, np.float64), masks, axes=1)

    def calculate_saliency_map(self, weighted_sum) -> np.ndarray:
        """Normalise the weighted sum by N * p, then divide by the maximum."""
        return utils.normalise(weighted_sum / (self.n_masks * self.threshold))

    def _fused_scorer(self):
        """Compiled: upsample and crop a batch of grids, mask the image, score the class, and
        return (scores, sum of weight * score * mask): no mask leaves the compiled call."""
        import tensorflow as tf
        model = self.model

        def body(img, grids, ry_c, rx_c, weights, class_index):
            rows = tf.matmul(ry_c, grids)  # (n, H, s): grids upsampled along the rows
            masks = tf.einsum("nht,nwt->nhw", rows, rx_c)
            probs = model(img[None] * masks[..., None], training=False)
            scores = tf.gather(probs, class_index, axis=1)
            # sum_i w_i s_i mask_i as one (H, n*s) x (n*s, W) product: cheaper than reducing masks
            weighted = tf.einsum("nht,nwt->hw", rows * (scores * weights)[:, None, None], rx_c)
            return scores, weighted
        return utils.compiled(model, "rise", body)

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1]. Masks are built, applied and scored batch by batch inside
        one compiled call, so memory does not grow with n_masks."""
        fn = self._fused_scorer()
        ry, rx = self._interpolation()
        grids, shifts = self.draw_grids()
        total = np.zeros(self.img_array.shape[:2], np.float64)
        self.scores = np.empty(self.n_masks, np.float64)
        img, cls = utils.to_tensor(self.img_array), utils.to_tensor(self.class_index, "int32")
        for start, real, idx in utils.batches(self.n_masks, self.batch_size):
            ry_c, rx_c = self._crop(ry, rx, shifts[idx], self.img_array.shape)
            weights = (np.arange(len(idx)) < real).astype(np.float32)
            scores, weighted = fn(img, grids[idx], ry_c, rx_c, weights, cls)
            self.scores[start:start + real] = np.asarray(scores)[:real]
            total += np.asarray(weighted, np.float64)
        return self.calculate_saliency_map(total)
