"""Images, GFDMs and maps as arrays: reading and fitting images, loading GFDMs, normalising,
resizing and flatness of maps, saving PNGs.
"""
import logging
from pathlib import Path

import cv2
import numpy as np

import constants

log = logging.getLogger(__name__)


def normalise(array) -> np.ndarray:
    """Divide by the maximum so the largest value is 1; negatives are clipped to 0 first.

    An all-zero (or all-negative) array stays all zeros; NaN/inf is an error.
    """
    arr = np.asarray(array, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("cannot normalise an array holding NaN or inf")
    arr = np.maximum(arr, 0.0)
    peak = float(arr.max()) if arr.size else 0.0
    return arr / peak if peak > 0 else np.zeros_like(arr)


def is_flat(array, tolerance=None) -> bool:
    """Whether a map ranks no pixel: its range, negatives clipped (as `normalise` does), is at most
    `tolerance` (default constants.FLAT_TOLERANCE) of its maximum; an all-zero or all-negative map
    is flat. The same answer before and after `normalise` (it divides by the maximum)."""
    tolerance = constants.FLAT_TOLERANCE if tolerance is None else tolerance
    arr = np.maximum(np.asarray(array, dtype=np.float64), 0.0)
    if arr.size == 0:
        return True
    peak = float(arr.max())
    return peak <= 0 or float(peak - arr.min()) <= tolerance * peak


def minmax(array) -> np.ndarray:
    """(a - min) / (max - min); a constant array is returned unchanged."""
    arr = np.asarray(array)
    lo, hi = arr.min(), arr.max()
    return (arr - lo) / (hi - lo) if hi > lo else arr


def resize_map(saliency, shape) -> np.ndarray:
    """Resize a 2-D map to (H, W) = shape with bilinear interpolation, half-pixel centres (OpenCV
    INTER_LINEAR); float32 stays float32, anything else is computed in float64."""
    h, w = int(shape[0]), int(shape[1])
    sal = np.asarray(saliency)
    sal = sal.astype(np.float32 if sal.dtype == np.float32 else np.float64, copy=False)
    if sal.shape == (h, w):
        return sal
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


def resize_matrix(n_in, n_out, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """(n_out, n_in) float32 matrix R with R @ x = OpenCV's resize of a length-n_in signal x to
    n_out (OpenCV's resize is separable: a 2-D map m resizes to R_rows @ m @ R_cols.T)."""
    eye = np.eye(int(n_in), dtype=np.float32)
    return cv2.resize(eye, (int(n_in), int(n_out)), interpolation=interpolation)


def extreme_samples(r) -> np.ndarray:
    """Indices of the rows of a resize matrix r (resize_matrix) among which the resized signal
    r @ x reaches its minimum and maximum for every x: the first and last row of each run of rows
    that read the same inputs. Within such a run a linear interpolation's weights change linearly
    from row to row, so r @ x is linear along the run and extreme at its ends; for a 2-D map
    (r_rows @ m @ r_cols.T) the extremes lie on the grid of both axes' samples. A run whose weights
    are not linear (another interpolation) keeps all its rows."""
    r = np.asarray(r, np.float64)
    support = [tuple(np.flatnonzero(row)) for row in r]
    starts = [i for i in range(len(r)) if i == 0 or support[i] != support[i - 1]]
    keep = []
    for start, end in zip(starts, starts[1:] + [len(r)]):
        run = r[start:end]
        linear = len(run) < 3 or np.allclose(np.diff(run, 2, axis=0), 0.0, atol=1e-6)
        keep.extend([start, end - 1] if linear else range(start, end))
    return np.unique(keep)


def _read_any(path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = _decode_quietly(data) if data.size else None
    if img is None:
        raise ValueError(f"{path}: cannot be read as an image (corrupt or unsupported format)")
    return img


def _decode_quietly(data):
    """cv2.imdecode without OpenCV's own warnings on stderr (a truncated PNG: "PNG input buffer is
    incomplete", once per process that reads it): the caller's error names the file and the problem."""
    before = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(before)


def _to_unit_float(img) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    img = img.astype(np.float32)
    return img / 255.0 if img.max() > 1.0 else img


def load_image(path, size=constants.INPUT_SIZE) -> np.ndarray:
    """Any PNG/JPEG (RGB, RGBA, grayscale, 8 or 16 bit, any size) as an RGB float32 array in
    [0, 255] of shape (H, W, 3) = size + (3,). Alpha is dropped."""
    return fit_image(read_rgb(path), size)


def read_rgb(path) -> np.ndarray:
    """An image file as RGB float32 in [0, 1] at its own size (see load_image)."""
    img = _to_unit_float(_read_any(path))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)
    return img


def fit_image(img, size=constants.INPUT_SIZE) -> np.ndarray:
    """read_rgb's array resized to `size` (None: kept) as float32 RGB in [0, 255] (load_image)."""
    if size is not None and img.shape[:2] != tuple(size):
        shrink = img.shape[0] > size[0] and img.shape[1] > size[1]
        img = cv2.resize(img, (size[1], size[0]),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.clip(img * 255.0, 0.0, 255.0).astype(np.float32)


def load_gfdm(path) -> np.ndarray:
    """A gaze-fixation density map as float32 (H, W) in [0, 1] at its native size."""
    img = _to_unit_float(_read_any(path))
    if img.ndim == 3:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)
    img = np.clip(img, 0.0, 1.0).astype(np.float32)
    if not img.any():  # every gaze metric but NSS would be undefined: said here, naming the file
        raise ValueError(f"{path}: the GFDM is all zeros (no gaze to compare the maps with)")
    return img


def save_png(path, rgb) -> None:
    """Write an RGB (or gray) uint8 array as PNG."""
    arr = np.asarray(rgb)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), arr):
        raise OSError(f"{path}: could not write image")


def what_file(path) -> str:
    """A few words on what a file that is not a Keras archive seems to be."""
    head = Path(path).read_bytes()[:512]
    if not head:
        return "an empty file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (a legacy .h5 model: load it with Keras and save it as .keras)"
    if head.startswith(b"PK\x03\x04"):  # a zip's first entry without its directory (written at the end)
        return "a damaged zip archive (a .keras file cut short, e.g. by an interrupted copy or download)"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8"):
        return "an image"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "a binary file of another kind"
