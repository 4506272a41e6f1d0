"""Reference maps: a floor for every metric, scored like a method but kept out of the methods'
registry (ALL, EVERY), the statistical tests and the sanity check.

CENTER  an isotropic Gaussian centred on the map, sigma = 0.25 x the map's shorter side, divided by
        its maximum: the centre bias of photographers and viewers, which gaze metrics reward.
RANDOM  a seeded 7 x 7 grid of uniform values upsampled bilinearly (OpenCV) to the map's size and
        divided by its maximum: spatially smooth like a real map, so a fair floor for the causal
        metrics too.

Each is built at the size where it is scored (the GFDM's size for gaze metrics, the model input for
the causal ones), so CENTER stays round on a non-square GFDM. The HUMAN ceiling is not a map: it
comes from the scanpaths (scanpaths.py).
"""
import dataclasses
from typing import Callable

import cv2
import numpy as np

CENTER_SIGMA = 0.25  # x the map's shorter side
RANDOM_GRID = 7
HUMAN = "HUMAN"


@dataclasses.dataclass(frozen=True)
class Reference:
    """build(shape (H, W), seed, **params) -> float32 (H, W) map with maximum 1."""
    name: str
    build: Callable
    description: str = ""


def center_map(shape, sigma_fraction=CENTER_SIGMA) -> np.ndarray:
    """An isotropic Gaussian centred on an (H, W) map, sigma = sigma_fraction x min(H, W), max 1."""
    h, w = int(shape[0]), int(shape[1])
    if sigma_fraction <= 0:
        raise ValueError(f"the CENTER sigma must be > 0, got {sigma_fraction}")
    sigma = sigma_fraction * min(h, w)
    gy = np.exp(-((np.arange(h) - (h - 1) / 2) ** 2) / (2 * sigma ** 2))
    gx = np.exp(-((np.arange(w) - (w - 1) / 2) ** 2) / (2 * sigma ** 2))
    out = np.outer(gy, gx)
    return (out / out.max()).astype(np.float32)


def random_map(shape, seed=0, grid=RANDOM_GRID) -> np.ndarray:
    """A seeded grid x grid of U(0, 1) values upsampled bilinearly to (H, W), divided by its maximum."""
    h, w = int(shape[0]), int(shape[1])
    cells = np.random.default_rng(seed).random((grid, grid)).astype(np.float32)
    out = cv2.resize(cells, (w, h), interpolation=cv2.INTER_LINEAR)
    return (out / out.max()).astype(np.float32)


_REGISTRY = {}


def register(reference: Reference) -> Reference:
    _REGISTRY[reference.name] = reference
    return reference


def is_reference(name) -> bool:
    """CENTER, RANDOM and HUMAN (and any other registered reference map): not methods."""
    return name == HUMAN or name in names()


def names() -> list:
    return list(_REGISTRY)


def get(name) -> Reference:
    if name not in _REGISTRY:
        raise ValueError(f"unknown reference map '{name}' (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def maps(names_, shape, seed=0, **params) -> tuple:
    """The reference maps `names_` at `shape` (the model input) and, for metrics.ImageData.native,
    {id(map): fn(shape) -> the same reference built at that shape}. params: center_sigma."""
    out, native = {}, {}
    builders = native_builders(names_, seed, **params)
    for name in names_:
        out[name] = get(name).build(shape, seed, **params)
        native[id(out[name])] = builders[name]
    return out, native


def native_builders(names_, seed=0, **params) -> dict:
    """{name: fn(shape) -> the reference built at that shape} (what `maps` keys by id in its native
    dict; a process that received the maps rebuilds it from their names)."""
    return {name: (lambda b: lambda other: b(other, seed, **params))(get(name).build) for name in names_}


def parse(text) -> list:
    """--references: a comma-separated list of reference maps, or 'none'."""
    if text.strip().lower() == "none":
        return []
    out = []
    for name in (t.strip().upper() for t in text.split(",") if t.strip()):
        get(name)
        if name not in out:
            out.append(name)
    return out


register(Reference("CENTER", lambda shape, seed, center_sigma=CENTER_SIGMA, **_: center_map(shape, center_sigma),
                   "isotropic Gaussian at the centre, sigma 0.25 x the shorter side"))
register(Reference("RANDOM", lambda shape, seed, **_: random_map(shape, seed),
                   "seeded 7 x 7 uniform grid upsampled bilinearly"))
