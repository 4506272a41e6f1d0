"""ROAD: RemOve And Debias (Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and Efficient
Evaluation Strategy for Attribution Methods", ICML 2022).

At each level p (default 10, 20, ..., 90 %) the k = floor(H W p / 100) most relevant pixels (MoRF) or
least relevant pixels (LeRF) of a map are removed and filled in by noisy linear imputation, and the
model scores the imputed image; the metric is the mean class probability over the levels.

Ranking: the map is min-max scaled to [0, 1] and seeded Gaussian jitter of standard deviation
1e-4 is added before sorting, so a plateau is not removed as one block in raster order (the
authors' code adds the same jitter). The jitter depends only on the seed, so MoRF and LeRF use one
ranking (LeRF removes its tail) and every map of an image gets the same tie-breaking.

Imputation: every removed pixel is the weighted mean of its 8 neighbours (direct neighbours 1/6,
diagonal ones 1/12; at the image border only the neighbours that exist, their weights divided by
their sum). The removed pixels of an image are the unknowns of one sparse linear system
    sum_j w_ij * x_i - sum_{j removed} w_ij * x_j = sum_{j kept} w_ij * v_j
shared by the three colour channels (three right-hand sides). The matrix is symmetric and
irreducibly diagonally dominant, hence positive definite whenever at least one pixel is kept, so it
is factorised without pivoting, with its unknowns numbered in a nested-dissection order of the
pixel grid (1.5 to 2 times faster than SuperLU's default column ordering in our measurements).
Gaussian noise (sigma 0.01 x 255) is added to the imputed pixels only, which are then clipped to
[0, 255]; kept pixels are untouched. The noise of a level is a seeded field over the whole image,
drawn from (seed, order, k), so the maps of one image see the same noise where they remove the same
pixels.
"""
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np

import constants

from xai_mexculture.metrics.registry import Metric, register

ORDERS = ("MoRF", "LeRF")
PERCENTAGES = constants.ROAD_PERCENTAGES
NOISE_STD = constants.ROAD_NOISE_STD
JITTER = constants.ROAD_JITTER
# (row offset, column offset, weight) of the 8 neighbours
NEIGHBOURS = ((-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6),
              (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12))
_STREAM = {"jitter": 0, "MoRF": 1, "LeRF": 2}  # random streams drawn from one seed
MAX_WORKERS = 8  # each thread holds one factorisation (tens of MB at 224 x 224)


def default_workers() -> int:
    """Threads for the sparse solves: the CPU count, at most MAX_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def check_order(order) -> str:
    """"MoRF" or "LeRF" (any case)."""
    for name in ORDERS:
        if isinstance(order, str) and order.lower() == name.lower():
            return name
    raise ValueError(f"ROAD order must be one of {', '.join(ORDERS)}, not {order!r}")


def n_removed(shape, percentage) -> int:
    """k = floor(H * W * p / 100), computed exactly (12.5 % of 64 pixels is 8, not 7.999...)."""
    p = Fraction(str(percentage)) if isinstance(percentage, (float, np.floating)) else Fraction(int(percentage))
    if not 0 <= p < 100:
        raise ValueError(f"ROAD percentages must be in [0, 100), got {percentage}: removing every pixel "
                         f"leaves nothing to impute from")
    return math.floor(int(shape[0]) * int(shape[1]) * p / 100)


def _checked_map(saliency, name="saliency map") -> np.ndarray:
    sal = np.asarray(saliency, np.float64)
    if sal.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map, got shape {sal.shape}")
    if not np.all(np.isfinite(sal)):
        raise ValueError(f"{name} holds NaN or inf")
    return sal


def ranking(saliency, seed=0) -> np.ndarray:
    """Flattened pixel indices, most relevant first: the map min-max scaled to [0, 1] (a constant map
    becomes 0), plus seeded N(0, 1e-4^2) jitter, sorted in decreasing order."""
    sal = _checked_map(saliency)
    lo, hi = sal.min(), sal.max()
    scaled = (sal - lo) / (hi - lo) if hi > lo else np.zeros_like(sal)
    jitter = JITTER * np.random.default_rng([int(seed), _STREAM["jitter"]]).standard_normal(sal.shape)
    return np.argsort(-(scaled + jitter).ravel(), kind="stable")


def removed_mask(rank, shape, k, order) -> np.ndarray:
    """(H, W) bool: the k first pixels of `rank` (MoRF) or its k last ones (LeRF)."""
    rank = np.asarray(rank)
    take = rank[:k] if check_order(order) == "MoRF" else rank[rank.size - k:]
    mask = np.zeros(rank.size, bool)
    mask[take] = True
    return mask.reshape(shape)


@functools.lru_cache(maxsize=8)
def _dissection_rank(h, w, leaf=8) -> np.ndarray:
    """Position of every pixel (flattened) in a nested-dissection order of the H x W grid: a box is
    cut by its middle row or column (one pixel wide: with 8 neighbours nothing touches across it),
    both halves come first, the cut last; boxes of at most leaf x leaf pixels keep raster order.
    Numbering the unknowns this way keeps the fill of the factorisation small."""
    parts = []

    def split(r0, r1, c0, c1):
        if (r1 - r0 <= leaf and c1 - c0 <= leaf) or min(r1 - r0, c1 - c0) < 3:
            parts.append((np.arange(r0, r1)[:, None] * w + np.arange(c0, c1)).ravel())
        elif r1 - r0 >= c1 - c0:
            m = (r0 + r1) // 2
            split(r0, m, c0, c1)
            split(m + 1, r1, c0, c1)
            parts.append(m * w + np.arange(c0, c1))
        else:
            m = (c0 + c1) // 2
            split(r0, r1, c0, m)
            split(r0, r1, m + 1, c1)
            parts.append(np.arange(r0, r1) * w + m)
    split(0, h, 0, w)
    order = np.concatenate(parts)
    rank = np.empty(h * w, np.int64)
    rank[order] = np.arange(h * w)
    rank.flags.writeable = False
    return rank


def linear_system(img, removed):
    """(A (n, n) CSC, b (n, C), pixels (n,)) of the imputation of the n removed pixels: A x = b,
    x[i] the value of the flattened pixel pixels[i] (numbered in nested-dissection order)."""
    from scipy import sparse
    img = np.asarray(img, np.float64)
    h, w = removed.shape
    flat = np.flatnonzero(removed)
    pixels = flat[np.argsort(_dissection_rank(h, w)[flat], kind="stable")]
    n = pixels.size
    unknown = np.full(h * w, -1, np.int64)
    unknown[pixels] = np.arange(n)
    rows, cols = np.divmod(pixels, w)
    values = img.reshape(h * w, -1)
    diagonal, b = np.zeros(n), np.zeros((n, values.shape[1]))
    a_rows, a_cols, a_vals = [np.arange(n)], [np.arange(n)], []
    for dr, dc, weight in NEIGHBOURS:  # 8 vectorised passes, one per neighbour direction
        r, c = rows + dr, cols + dc
        inside = np.flatnonzero((r >= 0) & (r < h) & (c >= 0) & (c < w))
        diagonal[inside] += weight
        neighbour = r[inside] * w + c[inside]
        var = unknown[neighbour]
        both = var >= 0
        a_rows.append(inside[both])
        a_cols.append(var[both])
        a_vals.append(np.full(both.sum(), -weight))
        b[inside[~both]] += weight * values[neighbour[~both]]  # each row once per direction
    a = sparse.csc_matrix((np.concatenate([diagonal] + a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))),
                          shape=(n, n))
    return a, b, pixels


def solve(a, b) -> np.ndarray:
    """x of A x = b for the symmetric positive definite A of `linear_system` (its own ordering kept,
    no pivoting)."""
    from scipy.sparse.linalg import splu
    if a.shape[0] == 0:
        return np.zeros_like(b)
    lu = splu(a, permc_spec="NATURAL", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
    return lu.solve(b)


def impute(img, removed, noise_std=NOISE_STD, seed=0) -> np.ndarray:
    """The image (H, W, C) float32 with its `removed` pixels ((H, W) bool) replaced by the noisy
    linear imputation: neighbour means solved as one system, plus N(0, noise_std^2) noise from a
    field seeded by `seed` (an int or a sequence of ints), clipped to [0, 255]. Kept pixels are
    returned unchanged."""
    img = np.asarray(img, np.float32)
    removed = np.asarray(removed, bool)
    if img.ndim != 3 or removed.shape != img.shape[:2]:
        raise ValueError(f"impute needs an (H, W, C) image and an (H, W) mask, got {img.shape} and {removed.shape}")
    out = img.copy()
    if not removed.any():
        return out
    if removed.all():
        raise ValueError("every pixel is removed: nothing is left to impute from")
    a, b, pixels = linear_system(img, removed)
    x = solve(a, b)
    if noise_std:
        x = x + noise_std * np.random.default_rng(seed).standard_normal(img.shape).reshape(-1, img.shape[2])[pixels]
    flat = out.reshape(-1, img.shape[2])
    flat[pixels] = np.clip(x, 0.0, 255.0)
    return out


def imputed_images(img, saliency_maps, orders=ORDERS, percentages=PERCENTAGES, seed=0, workers=None):
    """The imputed images of several maps of one image: ((n_maps * n_orders * n_levels, H, W, C)
    float32, [(name, order)] in that row order, one block of n_levels rows each). The sparse
    solves run in `workers` threads (default: the CPU count, at most MAX_WORKERS); each level has
    its own seed, so the images do not depend on the number of threads."""
    from xai_mexculture.core import image_io
    img = np.asarray(img, np.float32)
    if img.ndim != 3:
        raise ValueError(f"ROAD needs an (H, W, C) image, got shape {img.shape}")
    shape = img.shape[:2]
    orders = [check_order(o) for o in orders]
    levels = [n_removed(shape, p) for p in percentages]
    if not levels:
        raise ValueError("ROAD needs at least one percentage")
    blocks = [(name, order) for name in saliency_maps for order in orders]
    ranks = {name: ranking(image_io.resize_map(_checked_map(sal, f"saliency map {name!r}"), shape), seed)
             for name, sal in saliency_maps.items()}
    out = np.empty((len(blocks) * len(levels),) + img.shape, np.float32)
    tasks = [(i * len(levels) + j, name, order, k) for i, (name, order) in enumerate(blocks)
             for j, k in enumerate(levels)]

    def run(task):
        row, name, order, k = task
        removed = removed_mask(ranks[name], shape, k, order)
        out[row] = impute(img, removed, NOISE_STD, [int(seed), _STREAM[order], k])

    workers = max(1, min(int(workers or default_workers()), len(tasks)))
    if workers == 1:
        for task in tasks:
            run(task)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, tasks))  # scipy's SuperLU releases the GIL
    return out, blocks


def road_curves(model, img, saliency_maps, class_index, orders=ORDERS, percentages=PERCENTAGES, seed=0,
                batch_size=constants.BATCH_SIZE, jit=True, workers=None) -> dict:
    """ROAD of several maps of one image, every imputed image scored in one batched compiled pass:
    {name: {order: (scores (n_levels,), mean)}}, scores the class probability at each level."""
    from xai_mexculture.core import model_io
    if not saliency_maps:
        return {}
    images, blocks = imputed_images(img, saliency_maps, orders, percentages, seed, workers)
    probs = model_io.predict_batched(model, images, batch_size, jit)
    if not 0 <= int(class_index) < probs.shape[1]:
        raise ValueError(f"class index {class_index} is outside the model's {probs.shape[1]} classes")
    scores = probs[:, int(class_index)].astype(np.float64).reshape(len(blocks), -1)
    out = {}
    for (name, order), row in zip(blocks, scores):
        out.setdefault(name, {})[order] = (row, float(row.mean()))
    return out


def road(model, img_array, saliency, class_index, order="MoRF", percentages=PERCENTAGES, seed=0,
         batch_size=constants.BATCH_SIZE, jit=True):
    """ROAD (Rong et al., ICML 2022) of one map in one order: (scores (n_levels,), mean). At each
    level p the k = floor(H W p / 100) most (MoRF) or least (LeRF) relevant pixels are removed by
    noisy linear imputation (see the module docstring) and the class probability of the imputed
    image is the score. MoRF: lower is better; LeRF: higher is better. `seed` drives the
    tie-breaking jitter and the noise."""
    res = road_curves(model, img_array, {"map": saliency}, class_index, (order,), percentages, seed, batch_size, jit)
    return res["map"][check_order(order)]


def _road_results(image, maps):
    """ROAD of all maps of the image in both orders, imputed and scored together once."""
    if "road" not in image.cache:
        batch_size = image.scorer.batch_size if image.scorer is not None else constants.BATCH_SIZE
        image.cache["road"] = road_curves(image.model, image.img, maps, image.class_index,
                                          seed=image.seed, batch_size=batch_size)
    return image.cache["road"]


def _road(order):
    def compute(image, maps):
        results = _road_results(image, maps)
        return {m: results[m][order][1] for m in maps}
    return compute


register(Metric("ROAD_MoRF", False, ("model",), _road("MoRF"), option="road",
                description="ROAD, most relevant first: mean class probability at 10-90 % of the pixels "
                            "removed by noisy linear imputation"))
register(Metric("ROAD_LeRF", True, ("model",), _road("LeRF"), option="road",
                description="ROAD, least relevant first: mean class probability at 10-90 % of the pixels "
                            "removed by noisy linear imputation"))
