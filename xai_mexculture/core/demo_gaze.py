"""Simulated observers for the demo data: each participant's scanpath looks at some of the building's
discriminative parts (with their own aim error) plus a few stray fixations, with durations, the way
MexCulture142's Scanpaths folder records real observers (SSS_XXX_YYY_ScanPath_N_#_P_k.txt: x y
duration in seconds per row). The pooled fixations of all participants make the image's fixation
file and its GFDM, so the demo's human ceiling (metrics/scanpaths.py) is computed like MexCulture142's.
"""
from pathlib import Path

import numpy as np

N_PARTICIPANTS = 10
AIM_ERROR = 5.0  # pixels: the spread of one participant's fixations around a part
STRAY = (0, 3)  # stray fixations per participant: at least, at most
DURATION = (0.12, 0.6)  # seconds


def simulate(rng, parts, shape, n_participants=N_PARTICIPANTS) -> list:
    """[(N_p, 3) x, y, duration per participant]: each looks at a random half or more of the parts
    (1-2 fixations each, in a random order) and adds a few stray fixations; points inside (H, W)."""
    h, w = int(shape[0]), int(shape[1])
    parts = np.asarray(parts, np.float64).reshape(-1, 2)
    out = []
    for _ in range(n_participants):
        n_seen = int(rng.integers(max(1, (len(parts) + 1) // 2), len(parts) + 1))
        seen = parts[rng.permutation(len(parts))[:n_seen]]
        points = [p + rng.normal(0, AIM_ERROR, 2) for p in seen for _ in range(int(rng.integers(1, 3)))]
        points += [np.array([rng.uniform(0, w), rng.uniform(0, h)])
                   for _ in range(int(rng.integers(STRAY[0], STRAY[1] + 1)))]
        xy = np.array(points)
        xy[:, 0] = np.clip(xy[:, 0], 0, w - 1)
        xy[:, 1] = np.clip(xy[:, 1], 0, h - 1)
        out.append(np.column_stack([xy, rng.uniform(*DURATION, len(xy))]))
    return out


def scanpath_name(image_stem, participant) -> str:
    """SSS_XXX_YYY_N_# and k -> SSS_XXX_YYY_ScanPath_N_#_P_k.txt."""
    base, tail = image_stem.rsplit("_", 2)[0], "_".join(image_stem.rsplit("_", 2)[1:])
    return f"{base}_ScanPath_{tail}_P_{participant}.txt"


def write(folder, image_stem, participants) -> list:
    """One file per participant (1-based) in `folder`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, pts in enumerate(participants, start=1):
        path = folder / scanpath_name(image_stem, k)
        path.write_text("# x y duration_s\n" + "".join(f"{x:.1f} {y:.1f} {d:.3f}\n" for x, y, d in pts))
        paths.append(path)
    return paths
