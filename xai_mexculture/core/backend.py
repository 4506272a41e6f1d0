"""Compilation, gradients and batching on either Keras backend (TensorFlow or JAX).

Everything else writes its tensor code in `keras.ops`; this module is the only place that knows
which backend runs it:
  - `Compiled(body, variables, jit)`: body compiled once (tf.function with XLA on TensorFlow, jax.jit
    on JAX). On JAX the model's variables are passed in as arguments (keras.StatelessScope), so the
    weights are not baked into the compiled program as constants.
  - `grad(fn)`: d fn / d (first argument) with an auxiliary output, on either backend (GradientTape
    or jax.grad). Gradients with respect to an intermediate activation use a zero tensor added to
    that activation inside the graph (model_graph.probe), differentiated at 0.
  - `batches`, `stack_batches`: equal-size batches, so a compiled call sees one shape only.
  - `select_backend(name)`: sets KERAS_BACKEND before Keras is imported (main.py's --backend).
"""
import logging
import math
import os
import sys
import weakref

import numpy as np

log = logging.getLogger(__name__)
BACKENDS = ("tensorflow", "jax")


def select_backend(name=None) -> str:
    """Make `name` the Keras backend (None: keep KERAS_BACKEND, else Keras' default, tensorflow).

    Must run before Keras is imported; asking for another backend once Keras is loaded is an error
    (Keras cannot switch backends inside a process)."""
    if name is not None and name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not '{name}'")
    if "keras" in sys.modules:
        import keras
        current = keras.backend.backend()
        if name is not None and name != current:
            raise RuntimeError(f"Keras is already loaded with the {current} backend in this process; "
                               f"run a new process with --backend {name} (or KERAS_BACKEND={name})")
        return current
    if name is not None:
        os.environ["KERAS_BACKEND"] = name
    chosen = os.environ.get("KERAS_BACKEND", "tensorflow")
    if chosen not in BACKENDS:  # Keras would fail later, inside the run, with a less direct message
        raise ValueError(f"KERAS_BACKEND={chosen}: this tool runs on {' or '.join(BACKENDS)} (set KERAS_BACKEND "
                         f"to one of them, or pass --backend)")
    return chosen


def name() -> str:
    """The Keras backend in use: "tensorflow" or "jax"."""
    import keras
    return keras.backend.backend()


def default_compile_cache() -> str:
    """The folder of the compiled programs kept between runs: $XDG_CACHE_HOME (else ~/.cache)
    /xai-mexculture/jax."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "xai-mexculture", "jax")


def use_compile_cache(folder=None):
    """Keep the XLA programs compiled on JAX in `folder` (JAX's persistent compilation cache): a
    later run with the same model, shapes and JAX version loads them instead of compiling again.
    The cached program is the one that would have been compiled, so the numbers are the same.
    None: JAX's own JAX_COMPILATION_CACHE_DIR if set, else default_compile_cache(); "none": off.
    Returns the folder in use, or None (off, or the TensorFlow backend, which has no such cache).
    A folder that cannot be made is warned about and skipped."""
    if folder is None:
        folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or default_compile_cache()
    if name() != "jax":
        return None
    import jax
    from jax.experimental.compilation_cache import compilation_cache
    def off():  # off even where an earlier run in this process (a benchmark's warm-up) turned it on
        jax.config.update("jax_enable_compilation_cache", False)
        compilation_cache.reset_cache()
    if str(folder).lower() == "none":
        return off()
    folder = os.path.abspath(os.path.expanduser(str(folder)))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        log.warning("the compile cache %s cannot be made (%s): compiling without it", folder, err)
        return off()
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # every program, not only slow ones
    # JAX settles on its cache at its first compilation: one made before this call (a benchmark's
    # forward pass, an earlier run in this process) would keep the cache off for the whole process
    compilation_cache.reset_cache()
    return folder


def single_blas_thread() -> None:
    """Numpy's BLAS on one thread in this process (threadpoolctl, a dependency of scikit-learn;
    nothing without it). Every compiled call sets it: after a numpy product, BLAS's idle threads
    spin for a while and took the cores from the model's next call (on the 2-core CPU, Score-CAM's
    map of one demo image took 20-21 ms with two BLAS threads and 17-18 ms with one, its compiled
    call alone 16 ms). This process's own numpy work between model calls is small; the heavy host
    work runs in the host processes, each on one thread already (pipeline.single_threaded)."""
    try:
        import threadpoolctl
    except ImportError:
        return
    threadpoolctl.threadpool_limits(1, user_api="blas")


def _check_supported():
    if name() not in BACKENDS:
        raise RuntimeError(f"the Keras backend '{name()}' is not supported (use {' or '.join(BACKENDS)})")


class Compiled:
    """`body(*args)` compiled once. `variables`: the Keras variables body reads (a model's
    `variables`); on JAX they are passed to the compiled function on every call. `jit`: XLA on
    TensorFlow (falls back to a plain tf.function, with a warning, when XLA cannot compile the body
    but the plain function runs), jax.jit on JAX (`jit=False`: the body runs op by op). Puts numpy's
    BLAS on one thread in this process (single_blas_thread).

    On TensorFlow the body is traced without AutoGraph: it is keras.ops code that jax.jit traces
    as well, so it has no Python control flow on tensors to convert, and AutoGraph's rewriting of
    every function it calls took most of a first call (Grad-CAM on the demo model: 1.23 s, 0.80 s
    without it, on the 2-core machine). The fallback keeps AutoGraph (a model whose own code
    branches on a tensor, which plain Keras on TensorFlow runs, still runs)."""

    def __init__(self, body, variables=(), jit=True):
        _check_supported()
        single_blas_thread()
        self.body, self.variables, self.jit = body, list(variables), bool(jit)
        self.backend = name()
        self._ready = False
        self._arrays = self._current = None
        self._fn = self._build(self.jit)

    def _build(self, jit, autograph=False):
        if self.backend == "tensorflow":
            import tensorflow as tf
            return tf.function(self.body, reduce_retracing=True, jit_compile=jit, autograph=autograph)
        import jax
        import keras
        variables, body = self.variables, self.body

        def pure(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return body(*args)
        fn = jax.jit(pure) if jit else pure
        return lambda *args: fn(self._values(), *args)

    def _values(self):
        """The variables' current values (JAX). The list is made again only when a variable was
        assigned since the last call (its array is then another object): Keras' `value` property costs
        a few microseconds per variable, which on ResNet50's 320 variables and the ~1,300 calls of
        the lab report's run was 1.5 s of the main thread."""
        arrays = [getattr(v, "_value", v) for v in self.variables]
        if self._arrays is None or any(a is not b for a, b in zip(arrays, self._arrays)):
            self._arrays, self._current = arrays, [v.value for v in self.variables]
        return self._current

    def __call__(self, *args):
        if self._ready or self.backend != "tensorflow":
            return self._fn(*args)
        # the first call on TensorFlow: without AutoGraph (and with XLA when jit), else the first
        # of the fallbacks that runs; a real bug fails in every one and raises its first error
        errors = []
        for k, (jit, autograph) in enumerate(dict.fromkeys([(self.jit, False), (self.jit, True), (False, True)])):
            fn = self._fn if k == 0 else self._build(jit, autograph)
            try:
                out = fn(*args)
            except Exception as err:  # XLA refuses some ops; AutoGraph converts Python control flow
                errors.append(err)
                continue
            what = getattr(self.body, "__qualname__", "the model call")
            if self.jit and not jit:
                log.warning("XLA could not compile %s (%s); it runs as a plain tf.function", what,
                            type(errors[0]).__name__)
            elif autograph:
                log.warning("%s could not be traced without AutoGraph (%s: Python control flow on a tensor?); "
                            "it is traced with AutoGraph", what, type(errors[0]).__name__)
            self._fn, self.jit, self._ready = fn, jit, True
            return out
        raise errors[0]


def grad(fn):
    """g(x, *args) -> (d fn(x, *args)[0] / dx, fn(x, *args)[1]) for fn returning (scalar, aux)."""
    _check_supported()
    if name() == "jax":
        import jax
        return jax.grad(fn, has_aux=True)
    import tensorflow as tf

    def g(x, *args):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value, aux = fn(x, *args)
        return tape.gradient(value, x), aux
    return g


def to_tensor(array, dtype="float32"):
    """A backend tensor made once, so loops over batches do not copy the same array every call."""
    from keras import ops
    return ops.convert_to_tensor(np.asarray(array), dtype=dtype)


def to_numpy(tensor) -> np.ndarray:
    from keras import ops
    return np.asarray(ops.convert_to_numpy(tensor))


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


def rows(array, idx):
    """array[idx] for a batch's indices: a view (no copy) when they are consecutive."""
    idx = np.asarray(idx)
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
        return array[int(idx[0]):int(idx[-1]) + 1]
    return array[idx]


def stack_batches(fn, n, batch_size, args_of):
    """Call `fn(*args_of(idx))` on the equal-size batches of n items and stack the outputs of the
    real (unpadded) items: a numpy array (n, ...), or a tuple of them when fn returns a tuple."""
    # every batch is started before any result is read: on a backend that dispatches
    # asynchronously (JAX), the host prepares batch i + 1 while the device computes batch i, instead
    # of waiting for each result (measured on an H200: RISE on ResNet50 at 1.31 x the forward-pass
    # limit when each result was read at once, 0.85 x after)
    started = []
    for _, real, idx in batches(n, batch_size):
        out = fn(*args_of(idx))
        started.append((real, out if isinstance(out, (tuple, list)) else (out,)))
    parts = [[to_numpy(o)[:real] for o in out] for real, out in started]
    if not parts:
        raise ValueError("nothing to compute: no items")
    stacked = tuple(np.concatenate(column) for column in zip(*parts))
    return stacked if len(stacked) > 1 else stacked[0]


_PER_MODEL = weakref.WeakKeyDictionary()


def per_model(model, factory, *key):
    """`factory(model, *key)`, built once per (model, factory, key) and reused; held weakly by the
    model, so it goes with the model (the compiled scorers of the functional metric API)."""
    store = _PER_MODEL.setdefault(model, {})
    if (factory,) + key not in store:
        store[(factory,) + key] = factory(model, *key)
    return store[(factory,) + key]
