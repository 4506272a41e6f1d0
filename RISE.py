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

    def generate_masks(self):
        """Yield the masks in chunks of at most chunk_size: float32 (n, H, W) in [0, 1]."""
        h, w = self.img_array.shape[:2]
        s = self.mask_size
        ry = _interpolation_matrix(s, math.ceil(h / s))
        rx = _interpolation_matrix(s, math.ceil(w / s))
        rows, cols = np.arange(h), np.arange(w)
        grids, shifts = self.draw_grids()
        for start in range(0, self.n_masks, self.chunk_size):
            g = grids[start:start + self.chunk_size]
            sh = shifts[start:start + self.chunk_size]
            ry_c = ry[sh[:, :1] + rows[None, :]]  # (n, H, s): rows of the crop
            rx_c = rx[sh[:, 1:] + cols[None, :]]  # (n, W, s): columns of the crop
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

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1]."""
        total = np.zeros(self.img_array.shape[:2], np.float64)
        scores = []
        for masks in self.generate_masks():
            chunk_scores = self.obtain_prediction_scores(masks)
            total += self.weight_saliency_maps(chunk_scores, masks)
            scores.append(chunk_scores)
        self.scores = np.concatenate(scores)
        return self.calculate_saliency_map(total)
