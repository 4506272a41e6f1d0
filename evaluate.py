"""Saliency-map metrics: against human gaze and against the model itself.

Gaze metrics follow the MIT/Tuebingen saliency benchmark as described by Bylinskii, Judd, Oliva,
Torralba, Durand, "What do different evaluation metrics tell us about saliency models?", IEEE TPAMI
2019: PCC (their CC), SIM, NSS, KLD and AUC-Judd. The saliency map is resized to the ground
truth's shape when they differ (bilinear). Maps are numpy arrays; each metric returns a float.

Causal metrics follow Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", BMVC 2018: pixels in decreasing-saliency order (ties in raster order), `step`
pixels per step, n = ceil(HW / step) steps and n + 1 scores (softmax probability of the class).
Deletion replaces pixels with a baseline (black by default, as in the RISE paper; or the blurred
image, the image's mean colour, any number); insertion starts from a Gaussian-blurred copy (sigma 5,
11 x 11 kernel; or black, the mean colour, a number) and copies the original pixels in. AUC is the trapezoid rule on x in [0, 1].
All perturbed images are assembled vectorised and scored in large compiled batches.

ROAD (Rong et al., ICML 2022: noisy linear imputation at 10-90 % removed, MoRF and LeRF) is
computed in road.py and exposed here as `road` and `road_curves`.
"""
import logging
import math

import cv2
import numpy as np

import backend
import constants
import road as _road
import utils

log = logging.getLogger(__name__)
EPS = np.finfo(np.float64).eps  # the benchmark's MATLAB eps


# --------------------------------------------------------------------------- gaze metrics
def _finite(name, array) -> np.ndarray:
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf")
    return arr


def _pair(gt, sal):
    gt = _finite("ground truth", gt)
    sal = _finite("saliency map", sal)
    return gt, utils.resize_map(sal, gt.shape).astype(np.float64)


def _zscore(name, arr):
    std = arr.std()
    if std == 0:
        log.warning("%s is constant: it carries no information, the metric is 0", name)
        return None
    return (arr - arr.mean()) / std


def calculate_pcc(gt, sal) -> float:
    """Pearson correlation coefficient (the benchmark's CC) of two maps after z-scoring.
    A constant map gives 0.0 with a warning."""
    gt, sal = _pair(gt, sal)
    return pcc_of(_zscore("ground truth", gt), _zscore("saliency map", sal))


def pcc_of(zg, zs) -> float:
    """PCC of two z-scored maps (_zscore; None: a constant map, PCC 0.0)."""
    return 0.0 if zg is None or zs is None else float(np.mean(zg * zs))


def _distribution(name, arr):
    lo, hi = arr.min(), arr.max()
    if hi == lo:
        log.warning("%s is constant: treated as a uniform distribution", name)
        return np.full(arr.shape, 1.0 / arr.size)
    scaled = (arr - lo) / (hi - lo)
    return scaled / scaled.sum()


def calculate_sim(gt, sal) -> float:
    """Similarity (histogram intersection): min-max scale each map to [0, 1], divide each by its sum,
    SIM = sum(min(P, Q)). A constant map counts as uniform (with a warning)."""
    gt, sal = _pair(gt, sal)
    return sim_of(_distribution("ground truth", gt), _distribution("saliency map", sal))


def sim_of(p, q) -> float:
    """SIM of two distributions made by _distribution."""
    return float(np.minimum(p, q).sum())


def calculate_kld(gt, sal) -> float:
    """KL divergence of the saliency distribution Q from the gaze distribution P (benchmark form):
    sum P * log(eps + P / (Q + eps)) with P, Q each divided by its sum. Lower is better."""
    gt, sal = _pair(gt, sal)
    q = _kld_saliency(sal)  # first: a negative map is named before an all-zero ground truth
    return kld_of(_kld_gaze(gt), q)


def _kld_gaze(gt):
    """P of KLD: the non-negative gaze map divided by its sum."""
    if gt.min() < 0:
        raise ValueError("KLD needs non-negative maps")
    if gt.sum() == 0:
        raise ValueError("ground truth is all zeros: KLD is undefined")
    return gt / gt.sum()


def _kld_saliency(sal):
    """Q of KLD: the non-negative map divided by its sum (uniform when all zeros)."""
    if sal.min() < 0:
        raise ValueError("KLD needs non-negative maps")
    return sal / sal.sum() if sal.sum() > 0 else np.full(sal.shape, 1.0 / sal.size)


def kld_of(p, q) -> float:
    """KLD of Q (_kld_saliency) from P (_kld_gaze)."""
    return float(np.sum(p * np.log(EPS + p / (q + EPS))))


class GazeForms:
    """The forms of one map that PCC, SIM and KLD compare (z-score, min-max distribution, sum
    distribution), made once for a map compared with many others (the human ceiling's split-half
    compares each map with 20 half-GFDMs): pcc/sim/kld(gt_forms, sal_forms) equal
    calculate_pcc/sim/kld(gt, sal) exactly. `gaze`: the map is a ground truth (KLD's P)."""

    def __init__(self, arr, shape, gaze):
        role = "ground truth" if gaze else "saliency map"
        arr = utils.resize_map(_finite(role, arr), shape).astype(np.float64)
        self.z = _zscore(role, arr)
        self.distribution = _distribution(role, arr)
        self.p = _kld_gaze(arr) if gaze else None
        self.q = _kld_saliency(arr)

    @staticmethod
    def scores(gt, sal) -> tuple:
        """(PCC, SIM, KLD) of `sal` against `gt` (a GazeForms made with gaze=True)."""
        return pcc_of(gt.z, sal.z), sim_of(gt.distribution, sal.distribution), kld_of(gt.p, sal.q)


def _fixation_map(fixations, sal, shape):
    """A binary fixation map and the saliency map at its size. `fixations` is either a binary
    (H, W) map (W > 2) or an (N, 2) array of (x, y) points in a map of `shape` (default:
    the saliency map's shape)."""
    import data
    fix = np.asarray(fixations, dtype=np.float64)
    if fix.ndim == 2 and fix.shape[1] == 2:
        fix = data.fixation_map(fix, shape if shape is not None else np.shape(sal))
    fix = _finite("fixation map", fix) > 0
    if not fix.any():
        raise ValueError("no fixation inside the map")
    sal = utils.resize_map(_finite("saliency map", sal), fix.shape).astype(np.float64)
    return fix, sal


def calculate_nss(fixations, sal, shape=None) -> float:
    """Normalized Scanpath Saliency: mean of the z-scored saliency map at the fixated pixels.
    A constant map gives 0.0 with a warning."""
    fix, sal = _fixation_map(fixations, sal, shape)
    z = _zscore("saliency map", sal)
    return 0.0 if z is None else float(z[fix].mean())


def calculate_auc_judd(fixations, sal, shape=None) -> float:
    """AUC-Judd: every saliency value at a fixation is a threshold; the true-positive rate is the
    fraction of fixations at or above it, the false-positive rate the fraction of the other pixels
    at or above it; the ROC curve (from (0, 0) to (1, 1)) is integrated with the trapezoid rule."""
    fix, sal = _fixation_map(fixations, sal, shape)
    return auc_judd_scorer(sal)(fix)


def auc_judd_scorer(sal):
    """AUC-Judd of one map for many fixation maps: fn(binary (H, W) fixation map) -> float, with
    the map normalised and sorted once (the human ceiling scores it against every participant)."""
    sal = _finite("saliency map", sal)
    if sal.max() > sal.min():
        sal = (sal - sal.min()) / (sal.max() - sal.min())
    all_sorted = np.sort(sal.ravel())
    n_pix = sal.size

    def score(fix) -> float:
        fix = np.asarray(fix) > 0
        if fix.shape != sal.shape:
            raise ValueError(f"fixation map of shape {fix.shape} for a map of shape {sal.shape}")
        if not fix.any():
            raise ValueError("no fixation inside the map")
        fix_sorted = np.sort(sal[fix])
        n_fix = fix_sorted.size
        if n_pix == n_fix:
            raise ValueError("every pixel is fixated: AUC-Judd is undefined")
        thresholds = fix_sorted[::-1]
        # counted at or above each threshold, ties included: a plateau (zeros, a constant map) is one
        # step of the curve, not a staircase that ranks fixations above equal pixels (a constant
        # map scored 0.15 instead of 0.5 on 3 fixations of 80 pixels)
        hits = n_fix - np.searchsorted(fix_sorted, thresholds, side="left")
        above = n_pix - np.searchsorted(all_sorted, thresholds, side="left")
        tp = np.concatenate([[0.0], hits / n_fix, [1.0]])
        fp = np.concatenate([[0.0], (above - hits) / (n_pix - n_fix), [1.0]])
        return float(np.trapezoid(tp, fp))
    return score


# --------------------------------------------------------------------------- causal metrics
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
    sal = utils.resize_map(_finite("saliency map", saliency), img.shape[:2])
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


# --------------------------------------------------------------------------- the peers' metrics
def calculate_sparseness(saliency) -> float:
    """Sparseness, the Gini index of the map (Chalasani, Chen, Chowdhury, Wu, Jha, "Concise
    Explanations of Neural Networks using Adversarial Training", ICML 2020): with |map| flattened and
    sorted ascending a_1 <= ... <= a_n, G = sum_i (2i - n - 1) a_i / (n sum_i a_i); 0 for an all-zero
    map, towards 1 for a map concentrated on one pixel. Higher is sparser."""
    a = np.sort(np.abs(np.asarray(saliency, np.float64)).ravel())
    n, total = a.size, a.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * a) / (n * total))


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
    from stats import average_ranks
    sal = _finite("saliency map", saliency)
    shape = sal.shape if shape is None else tuple(shape)
    pos = sal[_points(fixations, shape, sal.shape)]
    neg = sal[_points(other_fixations, shape, sal.shape)]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("sAUC needs fixations of this image and of other images")
    ranks = average_ranks(np.concatenate([pos, neg]))  # ties get their mean rank
    u = ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


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
    sal = _finite("saliency map", saliency)
    h, w = sal.shape
    g = removed.shape[1]
    cell_h, cell_w = math.ceil(h / g), math.ceil(w / g)
    padded = np.zeros((g * cell_h, g * cell_w))
    padded[:h, :w] = sal
    mass = padded.reshape(g, cell_h, g, cell_w).sum(axis=(1, 3))  # saliency per cell (edge cells cropped)
    attributed = removed.reshape(len(removed), -1) @ mass.ravel()
    za, zd = _zscore("saliency mass of the removed cells", attributed), _zscore("class probability drop", drops)
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
    sal = utils.resize_map(_finite("saliency map", saliency), img.shape[:2])
    removed = mufidelity_patterns(grid_size, subset_percent, n_samples, seed)
    drops = mufidelity_scorer(model, batch_size).drops(img, class_index, removed, baseline)
    return mufidelity_from_drops(sal, removed, drops)


# --------------------------------------------------------------------------- ROAD
def road(model, img_array, saliency, class_index, order="MoRF", percentages=_road.PERCENTAGES, seed=0,
         batch_size=constants.BATCH_SIZE, jit=True):
    """ROAD (Rong et al., ICML 2022) of one map in one order: (scores (n_levels,), mean). At each
    level p the k = floor(H W p / 100) most (MoRF) or least (LeRF) relevant pixels are removed by
    noisy linear imputation (see road.py) and the class probability of the imputed image is the
    score. MoRF: lower is better; LeRF: higher is better. `seed` drives the tie-breaking jitter and
    the noise."""
    res = road_curves(model, img_array, {"map": saliency}, class_index, (order,), percentages, seed, batch_size, jit)
    return res["map"][_road.check_order(order)]


def road_curves(model, img_array, saliency_maps, class_index, orders=_road.ORDERS, percentages=_road.PERCENTAGES,
                seed=0, batch_size=constants.BATCH_SIZE, jit=True, workers=None) -> dict:
    """ROAD of several maps of one image in both orders, every imputed image scored in one batched
    compiled pass: {name: {order: (scores (n_levels,), mean)}}."""
    return _road.road_curves(model, img_array, saliency_maps, class_index, orders, percentages, seed,
                             batch_size, jit, workers)
