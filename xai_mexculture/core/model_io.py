"""Loading a .keras classifier (safe mode, clear errors) and its plain batched forward pass.
"""
import logging
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.core import model_graph

log = logging.getLogger(__name__)


def load_model(path, trust=False):
    """Load a `.keras` classifier (custom preprocessing layers registered), in Keras' safe mode
    unless `trust` (which runs Python code stored in the file, e.g. Lambda layers). Clear errors:
    a missing file, a file that is not a Keras archive (says what it is), a refused unsafe model."""
    import zipfile

    import keras
    from xai_mexculture.core import model_layers  # noqa: F401  (registers the custom layers)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: model file not found")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras archive (a .keras file is a zip archive); it is {image_io.what_file(path)}")
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
        return np.zeros((0, model_graph.n_classes(model)), np.float32)
    return backend.stack_batches(forward(model, jit), len(images), batch_size,
                                 lambda idx: (backend.rows(images, idx),)).astype(np.float32)


def class_scores(model, images, class_index, batch_size=constants.BATCH_SIZE) -> np.ndarray:
    """Softmax probability of `class_index` for each image of a stack: shape (N,)."""
    return predict_batched(model, images, batch_size)[:, int(class_index)]
