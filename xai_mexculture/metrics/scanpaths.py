"""Scanpaths and the human ceiling (the reference row HUMAN).

MexCulture142's Scanpaths folder holds one file per image and participant,
    SSS_XXX_YYY_ScanPath_N_#_P_k.txt
with one fixation per row: x y (image pixels) and the duration (seconds). From them, like for like:

- leave-one-out: for each participant p, the GFDM of the other participants (Wooding, the run's
  sigma and weighting) is scored against p's fixations with NSS and AUC-Judd, and so is each map;
  both averaged over p (columns NSS_loo, AUC_Judd_loo). HUMAN's values are the ceiling a map can
  reach against one unseen observer;
- split-half: the participants split into two seeded halves, 10 times; PCC, SIM and KLD between the
  two halves' GFDMs (HUMAN; KLD averaged over both directions) and between each map and each half's
  GFDM (averaged over the halves), averaged over the splits (PCC_split, SIM_split, KLD_split);
- normalised: NSS_norm = NSS_loo / HUMAN's NSS_loo (chance 0) and AUC_Judd_norm =
  (AUC_Judd_loo - 0.5) / (HUMAN's AUC_Judd_loo - 0.5) (chance 0.5); no normalised KLD.
"""
import logging
import re
from pathlib import Path

import numpy as np

from xai_mexculture.core import data
from xai_mexculture.metrics import gaze
from xai_mexculture.metrics import registry

log = logging.getLogger(__name__)
PATTERN = re.compile(r"^(?P<base>.+)_ScanPath_(?P<tail>.+)_P_(?P<participant>[A-Za-z0-9]+)$")
N_SPLITS = 10
LOO = ("NSS_loo", "AUC_Judd_loo")
SPLIT = ("PCC_split", "SIM_split", "KLD_split")
NORM = ("NSS_norm", "AUC_Judd_norm")


def parse_name(file_name):
    """(image stem SSS_XXX_YYY_N_#, participant) of a scanpath file name, or None."""
    match = PATTERN.match(Path(file_name).stem)
    if not match:
        return None
    return f"{match['base']}_{match['tail']}", match["participant"]


def file_name(image_stem, participant) -> str:
    """The scanpath file name of an image stem SSS_XXX_YYY_N_# and a participant (MexCulture naming)."""
    base, tail = data._split_stem(image_stem)
    return f"{base}_ScanPath_{tail}_P_{participant}.txt" if tail else f"{base}_ScanPath_P_{participant}.txt"


def read_folder(folder):
    """All scanpaths of a folder: ({image stem: {participant: (N, 3) x, y, duration}}, problems,
    SHA-256 of the file names and contents) where problems lists (file name, reason) of the files
    left out (bad name, unreadable, no fixation); every other file is kept."""
    import hashlib
    index, problems, digest = {}, [], hashlib.sha256()
    for path in sorted(Path(folder).glob("*.txt")):
        digest.update(path.name.encode() + path.read_bytes())
        parsed = parse_name(path.name)
        if parsed is None:
            problems.append((path.name, "not a scanpath file name (SSS_XXX_YYY_ScanPath_N_#_P_k.txt)"))
            continue
        try:
            points = data.read_fixations(path, durations=True)
        except ValueError as err:
            problems.append((path.name, str(err)))
            continue
        if len(points) == 0:
            problems.append((path.name, "no fixation"))
            continue
        index.setdefault(parsed[0], {})[parsed[1]] = points
    for name, reason in problems:
        log.warning("scanpath %s left out: %s", name, reason)
    return index, problems, digest.hexdigest()


def to_map(participants, image_shape, map_shape):
    """Participants' (N, 3) fixations from image pixels to the pixels of a map of `map_shape`."""
    return [data.rescale_points(pts, image_shape, map_shape) for pts in participants]


def _gfdm(parts, shape, sigma, weighting):
    pts = np.concatenate(parts)
    return data.gfdm_from_fixations(pts, shape, sigma, data.fixation_weights(pts, weighting, "scanpaths"))


def _inside(pts, shape):
    x, y = np.rint(pts[:, 0]), np.rint(pts[:, 1])
    return pts[(x >= 0) & (x < shape[1]) & (y >= 0) & (y < shape[0])]


def leave_one_out(participants, shape, sigma, weighting, maps) -> dict:
    """{"HUMAN" and each map name: (NSS, AUC-Judd) averaged over participants}; maps are (H, W) at
    `shape`, participants (N, 3) in its pixels. NaN with fewer than two participants."""
    names = ["HUMAN"] + list(maps)
    usable = [i for i, p in enumerate(participants) if len(_inside(p, shape))]
    if len(usable) < 2:
        return {n: (np.nan, np.nan) for n in names}
    judd = {n: gaze.auc_judd_scorer(m) for n, m in maps.items()}
    z = {n: gaze.zscore(f"{n} map", np.asarray(m, np.float64)) for n, m in maps.items()}
    scores = {n: [] for n in names}
    for i in usable:
        fix = data.fixation_map(_inside(participants[i], shape)[:, :2], shape) > 0
        others = _gfdm([participants[j] for j in range(len(participants)) if j != i], shape, sigma, weighting)
        zg = gaze.zscore("leave-one-out GFDM", others.astype(np.float64))
        scores["HUMAN"].append((0.0 if zg is None else float(zg[fix].mean()),
                                gaze.auc_judd_scorer(others)(fix)))
        for n in maps:
            scores[n].append((0.0 if z[n] is None else float(z[n][fix].mean()), judd[n](fix)))
    return {n: tuple(np.mean(np.array(v), axis=0)) for n, v in scores.items()}


def split_half(participants, shape, sigma, weighting, maps, n_splits=N_SPLITS, seed=0) -> dict:
    """{"HUMAN" and each map name: (PCC, SIM, KLD) averaged over n_splits seeded splits of the
    participants into two halves}: HUMAN compares the halves' GFDMs (KLD both ways), a map is
    compared with each half's GFDM. NaN with fewer than two participants."""
    names = ["HUMAN"] + list(maps)
    n = len(participants)
    if n < 2:
        return {name: (np.nan, np.nan, np.nan) for name in names}
    scores = {name: [] for name in names}
    forms = {name: gaze.GazeForms(m, shape, gaze=False) for name, m in maps.items()}  # once, not 20 times
    for k in range(n_splits):
        order = np.random.default_rng([seed, k]).permutation(n)
        halves = [_gfdm([participants[i] for i in part], shape, sigma, weighting)
                  for part in (order[:n // 2], order[n // 2:])]
        if any(h.max() == 0 for h in halves):
            continue
        a, b = (gaze.GazeForms(h, shape, gaze=True) for h in halves)
        (pcc, sim, kld), kld_ba = gaze.GazeForms.scores(a, b), gaze.kld_of(b.p, a.q)
        scores["HUMAN"].append((pcc, sim, (kld + kld_ba) / 2))
        for name, m in forms.items():
            scores[name].append(np.mean([gaze.GazeForms.scores(h, m) for h in (a, b)], axis=0))
    return {name: tuple(np.mean(np.array(v), axis=0)) if v else (np.nan,) * 3 for name, v in scores.items()}


def normalised(loo, human) -> tuple:
    """(NSS_norm, AUC_Judd_norm) of (NSS, AUC-Judd) leave-one-out scores against HUMAN's."""
    nss, auc = loo
    h_nss, h_auc = human
    return (nss / h_nss if h_nss > 0 else np.nan,
            (auc - 0.5) / (h_auc - 0.5) if h_auc > 0.5 else np.nan)


def ceiling(image, maps) -> dict:
    """{"HUMAN" and each method: {column: value}} of one image (cached on it)."""
    if "human" not in image.cache:
        at_gfdm = {m: registry.at_gfdm(image, s) for m, s in maps.items()}
        shape = image.gfdm.shape
        loo = leave_one_out(image.scanpaths, shape, image.scanpath_sigma, image.gfdm_weighting, at_gfdm)
        half = split_half(image.scanpaths, shape, image.scanpath_sigma, image.gfdm_weighting, at_gfdm,
                          seed=image.seed)
        out = {}
        for name in loo:
            values = dict(zip(LOO, loo[name])) | dict(zip(SPLIT, half[name]))
            values |= dict(zip(NORM, normalised(loo[name], loo["HUMAN"])))
            out[name] = {k: float(v) for k, v in values.items()}
        image.cache["human"] = out
    return image.cache["human"]


def _column(column):
    return lambda image, maps: {m: ceiling(image, maps)[m][column] for m in maps}


for _name, _higher in zip(LOO + SPLIT + NORM, (True, True, True, True, False, True, True)):
    registry.register(registry.Metric(_name, _higher, ("gfdm", "scanpaths"), _column(_name),
                                    description="like-for-like score against the scanpaths "
                                                "(see xai_mexculture/metrics/scanpaths.py)"))
