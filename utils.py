"""Small shared helpers: normalisation, image and GFDM loading, class index from a file name,
model loading, the last conv layer, the features-and-logits model, batched compiled scoring,
and the figure grid."""
import logging
import math
import os
import weakref
from pathlib import Path

import cv2
import numpy as np

import constants

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


def resize_map(saliency, shape) -> np.ndarray:
    """Resize a 2-D map to (H, W) = shape with bilinear interpolation (float32 stays float32,
    anything else is computed in float64)."""
    h, w = int(shape[0]), int(shape[1])
    sal = np.asarray(saliency)
    sal = sal.astype(np.float32 if sal.dtype == np.float32 else np.float64, copy=False)
    if sal.shape == (h, w):
        return sal
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------- file names and images
def get_image_index(name) -> int:
    """Class index from the file-name prefix (classes sorted by name): Colonial=0, Modern=1,
    Prehispanic=2. An unknown prefix is a ValueError naming the file."""
    stem = Path(str(name)).name
    prefix = stem.split("_", 1)[0].lower()
    for cls, index in constants.CLASS_PREFIXES.items():
        if prefix == cls.lower():
            return index
    raise ValueError(f"{name}: unknown class prefix '{stem.split('_', 1)[0]}' "
                     f"(expected one of {', '.join(constants.CLASS_NAMES)})")


def _read_any(path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ValueError(f"{path}: cannot be read as an image (corrupt or unsupported format)")
    return img


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
    img = _to_unit_float(_read_any(path))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)
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
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def save_png(path, rgb) -> None:
    """Write an RGB (or gray) uint8 array as PNG."""
    arr = np.asarray(rgb)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), arr):
        raise OSError(f"{path}: could not write image")


# --------------------------------------------------------------------------- models
def load_model(path):
    """Load a `.keras` classifier (custom preprocessing layers registered); clear errors."""
    import keras
    import model_layers  # noqa: F401  (registers the custom layers)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as err:  # keras raises many types for a bad file
        raise ValueError(f"{path}: cannot load the model ({type(err).__name__}: {err})") from err


def _is_graph_model(layer) -> bool:
    import keras
    return isinstance(layer, keras.Model) and hasattr(layer, "_nodes_by_depth")


def _sublayers(layer):
    import keras
    return list(layer.layers) if isinstance(layer, keras.Model) else []


def _output_rank(layer):
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):
        return None


# Known last conv layers of common backbones (used when present in the model).
KNOWN_LAST_LAYERS = {"resnet": "conv5_block3_out", "resnet50": "conv5_block3_out",
                     "vgg16": "block5_conv3", "vgg19": "block5_conv4"}


def get_last_layer_name(model, model_name=None) -> str:
    """Name of the last layer with a 4-D output (N, h, w, c), searched from the output backwards,
    inside nested backbones too (a Functional or Sequential model used as a layer)."""
    known = KNOWN_LAST_LAYERS.get(str(model_name).lower()) if model_name else None
    if known and find_layer(model, known) is not None:
        return known
    for layer in reversed(_sublayers(model)):
        if _sublayers(layer):
            try:
                return get_last_layer_name(layer)
            except ValueError:
                pass
        if _output_rank(layer) == 4 and not _sublayers(layer):
            return layer.name
    raise ValueError(f"model '{model.name}' has no layer with a 4-D output (no conv feature maps)")


def find_layer(model, name):
    """The layer called `name`, searched depth first through nested models; None if absent."""
    for layer in _sublayers(model):
        if layer.name == name:
            return layer
        found = find_layer(layer, name)
        if found is not None:
            return found
    return None


def _linear_version(layer):
    """A callable computing `layer` without its final softmax (pre-softmax scores)."""
    import keras
    if isinstance(layer, keras.layers.Softmax):
        return lambda x, **_: x
    if isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "softmax":
        return lambda x, **_: x
    config = layer.get_config()
    if config.get("activation") != "softmax":
        return layer
    config["activation"] = "linear"
    clone = layer.__class__.from_config(config)

    def call(x, **_):
        y = clone(x)
        clone.set_weights(layer.get_weights())
        return y
    return call


def _final_layer(model):
    layer = _sublayers(model)[-1]
    return _final_layer(layer) if _sublayers(layer) else layer


def _run_inlined(model, inputs, hook):
    """Call `model` on symbolic `inputs` layer by layer, recursing into nested models, with
    `hook(layer)` giving the callable used for each layer. The result is one flat graph that
    shares the original layers (and weights)."""
    if _is_graph_model(model):
        def op_fn(op):
            if _sublayers(op):
                return lambda *args, **kwargs: _run_inlined(op, args[0], hook)
            return hook(op)
        return model._run_through_graph(inputs, operation_fn=op_fn)
    x = inputs  # Sequential
    for layer in model.layers:
        x = _run_inlined(layer, x, hook) if _sublayers(layer) else hook(layer)(x)
    return x


_MODEL_CACHE = weakref.WeakKeyDictionary()


def cached(model, key, build):
    store = _MODEL_CACHE.setdefault(model, {})
    if key not in store:
        store[key] = build()
    return store[key]


def features_and_logits_model(model, layer_name):
    """A Keras model image -> [activations of `layer_name`, pre-softmax class scores].

    Works when the backbone is nested as a layer (the classic GradientTape failure on
    transfer-learned models): nested models are inlined so the activation and the output lie in
    one graph. The final softmax is removed (Grad-CAM differentiates the pre-softmax score).
    """
    def build():
        import keras
        target = find_layer(model, layer_name)
        if target is None:
            raise ValueError(f"layer '{layer_name}' not found in model '{model.name}'")
        final = _final_layer(model)
        captured = []

        def hook(layer):
            if layer is final:
                return _linear_version(layer)
            if layer is target:
                def record(*args, **kwargs):
                    out = layer(*args, **kwargs)
                    captured.append(out)
                    return out
                return record
            return layer

        inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
        logits = _run_inlined(model, inputs, hook)
        if isinstance(logits, (list, tuple)):
            logits = logits[0]
        return keras.Model(inputs, [captured[0], logits], name=f"{model.name}_features_logits")
    return cached(model, ("features_logits", layer_name), build)


class _Compiled:
    """A tf.function compiled with XLA when `jit` (several times faster on CPU for the perturbation
    builders); if XLA cannot compile it, it falls back to a plain tf.function with a warning."""

    def __init__(self, body, jit):
        import tensorflow as tf
        self._body, self.jit = body, jit
        self._fn = tf.function(body, reduce_retracing=True, jit_compile=jit)

    def __call__(self, *args):
        try:
            return self._fn(*args)
        except Exception as err:  # XLA raises several error types for unsupported ops
            if not self.jit:
                raise
            import tensorflow as tf
            log.warning("XLA could not compile the model call (%s); using plain tf.function",
                        type(err).__name__)
            self.jit = False
            self._fn = tf.function(self._body, reduce_retracing=True)
            return self._fn(*args)


def use_xla(model=None, mode=None) -> bool:
    """Whether to compile the batched model calls with XLA. mode: "on" or "off" (default: the
    XAI_JIT environment variable, else constants.JIT_COMPILE). Measured on the 2-core CPU: XLA
    runs the demo network's perturbation scoring ~1.5x faster than plain tf.function, and ResNet50
    about 1.1x faster."""
    mode = str(mode or os.environ.get("XAI_JIT") or constants.JIT_COMPILE).lower()
    if mode in ("1", "on", "true"):
        return True
    if mode in ("0", "off", "false"):
        return False
    raise ValueError(f"XLA mode must be on or off, not '{mode}'")


def compiled(model, key, body, jit=None):
    """A cached compiled function of `body` for this model. The perturbation builders of RISE,
    LIME and insertion/deletion assemble their images inside the compiled call (no host copies).
    jit: True/False, or None for use_xla(model)."""
    if jit is None:
        jit = use_xla(model)
    return cached(model, ("compiled", key, jit), lambda: _Compiled(body, jit))


def compiled_call(model, jit_compile=None):
    """The model's forward pass (inference mode) as a cached compiled function."""
    return compiled(model, "call", lambda x: model(x, training=False), jit_compile)


def batches(n, batch_size):
    """(start, real, idx) for equal-size batches over n items: as few batches of at most
    batch_size as possible, all of the same size (a 225-image curve at 64 runs as 4 x 57, not
    4 x 64), the last one padded by repeating the last item, so every compiled call has one shape."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if n < 1:
        return
    size = math.ceil(n / math.ceil(n / batch_size))
    for start in range(0, n, size):
        real = min(size, n - start)
        yield start, real, np.minimum(np.arange(start, start + size), n - 1)


def to_tensor(array, dtype="float32"):
    """A tensor made once, so loops over batches do not copy the same array every call."""
    import tensorflow as tf
    return tf.convert_to_tensor(np.asarray(array), dtype=dtype)


def predict_batched(model, images, batch_size=constants.BATCH_SIZE, jit_compile=None) -> np.ndarray:
    """Softmax outputs for a stack of images (N, H, W, 3), in fixed-size batches through one
    compiled call."""
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        return np.zeros((0, int(model.outputs[0].shape[-1])), np.float32)
    fn = compiled_call(model, jit_compile)
    out = []
    for start, real, idx in batches(len(images), batch_size):
        batch = images[start:start + real] if real == len(idx) else images[idx]  # a view when full
        out.append(np.asarray(fn(batch))[:real])
    return np.concatenate(out).astype(np.float32)


def class_scores(model, images, class_index, batch_size=constants.BATCH_SIZE) -> np.ndarray:
    """Softmax probability of `class_index` for each image of a stack: shape (N,)."""
    return predict_batched(model, images, batch_size)[:, int(class_index)]


# --------------------------------------------------------------------------- figures
def grid_layout(images, titles, path=None, ncols=4, show=False, cmaps=None, suptitle=None):
    """Plot images (arrays or callables drawing on an axis) in a grid, save it to `path` and
    optionally show it. Never fails on a machine with no display."""
    import matplotlib
    if not show:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.2 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        item = images[i]
        if callable(item):
            item(ax)
        else:
            arr = np.asarray(item)
            cmap = (cmaps[i] if cmaps else None) or ("gray" if arr.ndim == 2 else None)
            ax.imshow(arr, cmap=cmap, vmin=0 if arr.ndim == 2 else None,
                      vmax=1 if arr.ndim == 2 else None)
            ax.axis("off")
        ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(str(path), dpi=80)
    if show:
        try:
            plt.show()
        except Exception as err:  # no display
            log.warning("cannot show the figure: %s", err)
    plt.close(fig)
