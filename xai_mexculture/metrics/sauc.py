"""Shuffled AUC (sAUC): this image's fixations against the other images' ones (Bylinskii et al. 2019).
"""
import numpy as np

from xai_mexculture.metrics.gaze import finite
from xai_mexculture.metrics.registry import Metric, at_gfdm, per_map, register


def _points(points, shape, target):
    """(x, y) points given in a map of `shape`, as integer pixel indices of a map of `target` shape."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    sy, sx = target[0] / shape[0], target[1] / shape[1]
    cols = np.clip(np.floor((pts[:, 0] + 0.5) * sx), 0, target[1] - 1).astype(int)
    rows = np.clip(np.floor((pts[:, 1] + 0.5) * sy), 0, target[0] - 1).astype(int)
    return rows, cols


def calculate_sauc(fixations, saliency, other_fixations, shape=None) -> float:
    """Shuffled AUC (Bylinskii et al. 2019): positives are the map's values at this image's
    fixations, negatives its values at the fixations of the other images (the centre bias of the
    data set), all given as (x, y) rows in a map of `shape` (default: the saliency map's shape) and
    scaled to the map; AUC = P(s_pos > s_neg) + P(s_pos = s_neg) / 2, computed exactly from ranks
    (the MIT code samples the negatives instead)."""
    from xai_mexculture.core.stats import average_ranks
    sal = finite("saliency map", saliency)
    shape = sal.shape if shape is None else tuple(shape)
    pos = sal[_points(fixations, shape, sal.shape)]
    neg = sal[_points(other_fixations, shape, sal.shape)]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("sAUC needs fixations of this image and of other images")
    ranks = average_ranks(np.concatenate([pos, neg]))  # ties get their mean rank
    u = ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


register(Metric("sAUC", True, ("gfdm", "fixations", "other_fixations"),
                per_map(lambda im, s: calculate_sauc(im.fixations, at_gfdm(im, s), im.other_fixations,
                                                     shape=im.gfdm.shape)),
                description="shuffled AUC: this image's fixations against the other images' ones"))
