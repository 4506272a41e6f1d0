"""Gaze metrics: how well a map predicts human gaze (PCC, SIM, KLD, NSS, AUC-Judd).

They follow the MIT/Tuebingen saliency benchmark as described by Bylinskii, Judd, Oliva, Torralba,
Durand, "What do different evaluation metrics tell us about saliency models?", IEEE TPAMI 2019:
PCC (their CC), SIM, NSS, KLD and AUC-Judd. The saliency map is resized to the ground truth's shape
when they differ (bilinear). Maps are numpy arrays; each metric returns a float.
"""
import logging

import numpy as np

from xai_mexculture.core import image_io
from xai_mexculture.metrics.registry import Metric, at_gfdm, per_map, register

log = logging.getLogger(__name__)
EPS = np.finfo(np.float64).eps  # the benchmark's MATLAB eps


def finite(name, array) -> np.ndarray:
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf")
    return arr


def _pair(gt, sal):
    gt = finite("ground truth", gt)
    sal = finite("saliency map", sal)
    return gt, image_io.resize_map(sal, gt.shape).astype(np.float64)


def zscore(name, arr):
    std = arr.std()
    if std == 0:
        log.warning("%s is constant: it carries no information, the metric is 0", name)
        return None
    return (arr - arr.mean()) / std


def calculate_pcc(gt, sal) -> float:
    """Pearson correlation coefficient (the benchmark's CC) of two maps after z-scoring.
    A constant map gives 0.0 with a warning."""
    gt, sal = _pair(gt, sal)
    return pcc_of(zscore("ground truth", gt), zscore("saliency map", sal))


def pcc_of(zg, zs) -> float:
    """PCC of two z-scored maps (zscore; None: a constant map, PCC 0.0)."""
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
        arr = image_io.resize_map(finite(role, arr), shape).astype(np.float64)
        self.z = zscore(role, arr)
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
    from xai_mexculture.core import data
    fix = np.asarray(fixations, dtype=np.float64)
    if fix.ndim == 2 and fix.shape[1] == 2:
        fix = data.fixation_map(fix, shape if shape is not None else np.shape(sal))
    fix = finite("fixation map", fix) > 0
    if not fix.any():
        raise ValueError("no fixation inside the map")
    sal = image_io.resize_map(finite("saliency map", sal), fix.shape).astype(np.float64)
    return fix, sal


def calculate_nss(fixations, sal, shape=None) -> float:
    """Normalized Scanpath Saliency: mean of the z-scored saliency map at the fixated pixels.
    A constant map gives 0.0 with a warning."""
    fix, sal = _fixation_map(fixations, sal, shape)
    z = zscore("saliency map", sal)
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
    sal = finite("saliency map", sal)
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


for _metric in (
        Metric("PCC", True, ("gfdm",), per_map(lambda im, s: calculate_pcc(im.gfdm, at_gfdm(im, s))),
               description="Pearson correlation with the GFDM"),
        Metric("SIM", True, ("gfdm",), per_map(lambda im, s: calculate_sim(im.gfdm, at_gfdm(im, s))),
               description="histogram intersection with the GFDM"),
        Metric("KLD", False, ("gfdm",), per_map(lambda im, s: calculate_kld(im.gfdm, at_gfdm(im, s))),
               description="KL divergence of the map from the GFDM"),
        Metric("NSS", True, ("gfdm", "fixations"),
               per_map(lambda im, s: calculate_nss(im.fixations, at_gfdm(im, s), shape=im.gfdm.shape)),
               description="normalized scanpath saliency at the fixations"),
        Metric("AUC_Judd", True, ("gfdm", "fixations"),
               per_map(lambda im, s: calculate_auc_judd(im.fixations, at_gfdm(im, s), shape=im.gfdm.shape)),
               description="AUC-Judd of the fixations")):
    register(_metric)
