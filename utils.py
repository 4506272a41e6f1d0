"""Small shared helpers: normalisation, resizing, image and GFDM loading, model loading and the
plain batched forward pass. The seed's names stay importable from here (get_image_index,
get_last_layer_name, grid_layout, ...) although their code lives in focused modules: data.py
(MexCulture naming), model_graph.py (layer search, nested backbones), backend.py (compilation,
batching), figures.py (figures)."""
import logging
from pathlib import Path

import cv2
import numpy as np

import backend
import constants
from data import class_index as get_image_index  # noqa: F401  (the seed's name)
from model_graph import (features_and_logits_model, find_layer, get_last_layer_name,  # noqa: F401
                         n_classes)
from backend import batches, to_tensor  # noqa: F401
from cli import HelpFormatter  # noqa: F401  (main.py's and train.py's, now in cli.py)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- arrays
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
    import constants
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


# --------------------------------------------------------------------------- images
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


# --------------------------------------------------------------------------- models
def _what_file(path) -> str:
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


def load_model(path, trust=False):
    """Load a `.keras` classifier (custom preprocessing layers registered), in Keras' safe mode
    unless `trust` (which runs Python code stored in the file, e.g. Lambda layers). Clear errors:
    a missing file, a file that is not a Keras archive (says what it is), a refused unsafe model."""
    import zipfile

    import keras
    import model_layers  # noqa: F401  (registers the custom layers)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: model file not found")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras archive (a .keras file is a zip archive); it is {_what_file(path)}")
    try:
        return _load_without_initializers(lambda: keras.saving.load_model(str(path), compile=False,
                                                                          safe_mode=not trust))
    except Exception as err:  # keras raises many types for a bad file
        if not trust and "safe_mode" in str(err):
            raise ValueError(f"{path}: Keras' safe mode refused to load it: it holds Python code (e.g. a "
                             f"Lambda layer). If you trust the file, add --trust_model (runs code stored in "
                             f"the model file)") from err
        raise ValueError(f"{path}: cannot load the model ({type(err).__name__}: {err})") from err


def _load_without_initializers(load):
    """`load()` with the model's variables created without running their initialisers, then set
    from the values the file holds (the same values as a plain load; a variable the file lacks,
    such as a seed generator's state, is initialised as usual). A plain load draws every initial
    value only to overwrite it: on JAX each initialiser of a new shape is an XLA compilation, 7.9 of
    the 9.0 s of a first load of ResNet50 on two CPU cores (0.95 s this way). Uses Keras' deferred
    initialisation (a StatelessScope records the file's values as updates); the plain load where
    this Keras lacks it or the load fails that way (a custom layer that makes a variable from an
    array, which a StatelessScope refuses; a bad file, whose error the plain load then raises)."""
    from keras import StatelessScope
    from keras.src.backend.common import global_state
    key = "uninitialized_variables"
    try:
        scope = StatelessScope(initialize_variables=False)
    except TypeError:  # a Keras without deferred initialisation
        return load()
    earlier = global_state.get_global_attribute(key) or []
    global_state.set_global_attribute(key, [])
    try:
        with scope:
            model = load()
        created = global_state.get_global_attribute(key) or []
    except Exception:  # a bad file (the plain load says why), or a layer that makes a variable from a value
        created = None
    finally:
        global_state.set_global_attribute(key, earlier)
    if created is None:
        return load()
    for variable in created:
        value = scope.get_current_value(variable)
        if value is None:
            variable._deferred_initialize()
        else:
            variable._initialize(value)
            variable._initializer = None
    return model


def _compiled_forward(model, jit):
    return backend.Compiled(lambda x: model(x, training=False), model.variables, jit)


def forward(model, jit=True):
    """The model's forward pass (inference mode), compiled once per model and jit setting."""
    return backend.per_model(model, _compiled_forward, jit)


def predict_batched(model, images, batch_size=constants.BATCH_SIZE, jit=True) -> np.ndarray:
    """Softmax outputs for a stack of images (N, H, W, 3), in fixed-size batches through one
    compiled call."""
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        return np.zeros((0, n_classes(model)), np.float32)
    return backend.stack_batches(forward(model, jit), len(images), batch_size,
                                 lambda idx: (backend.rows(images, idx),)).astype(np.float32)


def class_scores(model, images, class_index, batch_size=constants.BATCH_SIZE) -> np.ndarray:
    """Softmax probability of `class_index` for each image of a stack: shape (N,)."""
    return predict_batched(model, images, batch_size)[:, int(class_index)]


def grid_layout(*args, **kwargs):
    """figures.grid_layout (kept importable from here)."""
    import figures
    return figures.grid_layout(*args, **kwargs)
