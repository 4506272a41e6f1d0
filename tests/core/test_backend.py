"""The backend module, and parity: the same maps and curves on TensorFlow and on JAX."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import jax_part
from fake_run import result_rows

from xai_mexculture.core import backend

ROOT = Path(__file__).resolve().parents[2]


def test_jax_gives_the_tensorflow_maps_and_curves(jax_checks):
    import backend_parity
    jax_part(jax_checks, "parity")  # backend_parity.compute() in the process on JAX
    jax_results = dict(np.load(jax_checks["dir"] / "parity.npz"))
    tf_results = backend_parity.compute()
    assert str(tf_results["backend"]) == "tensorflow" and str(jax_results["backend"]) == "jax"
    assert set(tf_results) == set(jax_results)
    np.testing.assert_allclose(jax_results["probs"], tf_results["probs"], atol=1e-5)
    for key in sorted(k for k in tf_results if k not in ("backend", "probs")):
        assert tf_results[key].shape == jax_results[key].shape, key
        # a curve orders the pixels by the map: where two pixels' values differ by less than the
        # backends' round-off (1e-6), a step may remove a few other pixels (7.8e-4 seen on the demo)
        curve = "_insertion_" in key or "_deletion_" in key
        np.testing.assert_allclose(jax_results[key], tf_results[key], atol=2e-3 if curve else 1e-4, err_msg=key)
    from xai_mexculture import explainers
    assert {f"{m}_maps" for m in explainers.names()} <= set(tf_results)
    # the maps are not trivial: each method highlights something
    for method in explainers.names():
        assert all(m.max() == pytest.approx(1.0) and m.min() < 0.9 for m in tf_results[f"{method}_maps"])


def test_main_runs_on_jax_with_the_backend_flag_and_keeps_the_compiled_programs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")}
    env = dict(env, JAX_PLATFORMS="cpu", XDG_CACHE_HOME=str(tmp_path / "xdg"))
    cache = tmp_path / "xdg" / "xai-mexculture" / "jax"
    entries = []
    for run in ("first", "second"):
        res = subprocess.run([sys.executable, "main.py", "--backend", "jax", "--n_images", "1",
                              "--explanation_method", "GRADCAM,RISE", "--rise_masks", "64", "--step", "4000",
                              "--no_progress", "--display_type", "none", "--output_dir", str(tmp_path / run)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        entries.append(sorted(p.name for p in cache.iterdir()))
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    assert manifest["backend"] == "jax" and "jax" in manifest["packages"]
    assert (tmp_path / "first" / "maps" / "Colonial_DemoTest001_Synthetic_N_1_RISE.npy").exists()
    # the first run filled the default cache folder; the second compiled nothing new (every program
    # came from the cache) and gave the same numbers
    assert len(entries[0]) >= 3 and entries[1] == entries[0]
    assert result_rows(tmp_path / "second" / "results.csv") == result_rows(tmp_path / "first" / "results.csv")


def test_the_compile_cache_can_be_turned_off_and_is_nothing_on_tensorflow(jax_checks, tmp_path):
    """In the process on JAX (tests/jax_checks.py's compile_cache): turned off, set after a compilation,
    a folder that cannot be made, and off again after it was on."""
    jax_part(jax_checks, "compile_cache")
    found = json.loads((jax_checks["dir"] / "compile_cache.json").read_text())
    assert found["off"] == [None, None] and found["set"] is True and found["unmakeable"] is None
    assert found["written_after_off"] == found["written_on"] > 0
    # warned, and the run goes on
    assert "the compile cache /proc/no/such/folder cannot be made" in jax_checks["stderr"]
    assert len(list((jax_checks["dir"] / "c").iterdir())) >= 1
    assert backend.use_compile_cache(tmp_path / "tf") is None and not (tmp_path / "tf").exists()


def test_an_existing_keras_backend_variable_is_respected(jax_checks):
    jax_part(jax_checks, "compile_cache")
    assert json.loads((jax_checks["dir"] / "compile_cache.json").read_text())["backend"] == "jax"


def test_switching_backend_after_keras_is_loaded_is_refused(capsys):
    import keras  # noqa: F401  (the test process runs on TensorFlow)
    assert backend.select_backend(None) == "tensorflow"
    with pytest.raises(RuntimeError, match="already loaded with the tensorflow backend"):
        backend.select_backend("jax")
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.select_backend("torch")
    from xai_mexculture.cli import main
    assert main.main(["--backend", "jax"]) == 2
    assert "new process with --backend jax" in capsys.readouterr().err


def test_batches_are_equal_sized_and_cover_everything():
    got = list(backend.batches(225, 64))
    assert [len(idx) for _, _, idx in got] == [57] * 4
    assert sum(real for _, real, _ in got) == 225 and got[-1][2][-1] == 224
    assert list(backend.batches(0, 8)) == []
    with pytest.raises(ValueError):
        list(backend.batches(3, 0))
    arr = np.arange(10)
    assert backend.rows(arr, np.array([2, 3, 4])).base is arr  # a view
    np.testing.assert_array_equal(backend.rows(arr, np.array([8, 9, 9])), [8, 9, 9])


def test_gradients_on_either_backend_match_a_closed_form():
    from keras import ops

    def f(x, w):
        return ops.sum(w * x ** 2), x * 2
    g, aux = backend.Compiled(lambda x, w: backend.grad(f)(x, w))(
        backend.to_tensor([1.0, 2.0, 3.0]), backend.to_tensor([1.0, 0.5, 2.0]))
    np.testing.assert_allclose(backend.to_numpy(g), [2.0, 2.0, 12.0])
    np.testing.assert_allclose(backend.to_numpy(aux), [2.0, 4.0, 6.0])


def test_xla_fallback_only_for_xla_failures(caplog):
    import tensorflow as tf

    def body(x):
        return tf.strings.as_string(x)  # XLA cannot compile string ops; plain tf.function can
    out = backend.Compiled(body, jit=True)(tf.constant([1.0]))
    assert out.dtype == tf.string and "XLA could not compile" in caplog.text

    def buggy(x):
        return x + tf.constant([1.0, 2.0, 3.0])  # a real shape bug fails without XLA too
    with pytest.raises(Exception) as err:
        backend.Compiled(buggy, jit=True)(tf.constant([1.0, 2.0]))
    assert "XLA" not in type(err.value).__name__


def test_every_batch_is_started_before_a_result_is_read(monkeypatch):
    """On JAX the host prepares the next batch while the device computes: stack_batches and RISE
    start all their compiled calls before reading any result back."""
    log = []
    real = backend.to_numpy
    monkeypatch.setattr(backend, "to_numpy", lambda t: log.append("read") or real(t))

    def fn(x):
        log.append("call")
        return x * 2
    out = backend.stack_batches(fn, 10, 4, lambda idx: (np.asarray(idx, np.float32),))
    np.testing.assert_array_equal(out, 2 * np.arange(10))
    assert log == ["call"] * 3 + ["read"] * 3

    from xai_mexculture.explainers import rise
    from conftest import patch_model
    explainer = rise.RISEExplainer(patch_model((16, 16), (0, 8), (0, 8)), batch_size=8,
                                   n_masks=24, mask_size=4)
    body = explainer._fn
    explainer._fn = lambda *args: log.append("call") or body(*args)
    log.clear()
    explainer.explain_one(np.ones((16, 16, 3), np.float32), 0)
    assert log == ["call"] * 3 + ["read"] * 6  # scores and weighted sum of each batch


def test_a_compiled_call_puts_numpy_blas_on_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"}
    if not blas_threads():
        pytest.skip("numpy has no BLAS that threadpoolctl sees")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert blas_threads() == {2}
        backend.Compiled(lambda x: x + 1.0)
        assert blas_threads() == {1}


def test_a_compiled_call_sees_weights_assigned_after_its_first_call(jax_checks):
    """On JAX the values of the variables are reused between calls until one is assigned."""
    check_assigned_weights_are_seen()
    jax_part(jax_checks, "weights")  # the same check in the process on JAX


def check_assigned_weights_are_seen():
    import keras
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(inputs))
    call = backend.Compiled(lambda x: model(x, training=False), model.variables)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    assert backend.to_numpy(call(x))[0, 0] == pytest.approx(6.0)
    assert backend.to_numpy(call(x))[0, 0] == pytest.approx(6.0)  # the values reused
    model.layers[-1].kernel.assign(np.full((3, 1), 2.0, np.float32))
    assert backend.to_numpy(call(x))[0, 0] == pytest.approx(12.0)
    model.layers[-1].set_weights([np.full((3, 1), -1.0, np.float32)])
    assert backend.to_numpy(call(x))[0, 0] == pytest.approx(-6.0)


def test_a_body_that_branches_on_a_tensor_runs_with_autograph(caplog):
    """Bodies are traced without AutoGraph (keras.ops code has no Python control flow on tensors);
    a model that has some, which Keras on TensorFlow runs, still runs: the call falls back to AutoGraph."""
    import tensorflow as tf

    def body(x):
        if tf.reduce_sum(x) > 0:  # Python control flow on a tensor: only AutoGraph can trace it
            return x * 2
        return x - 1
    for jit in (True, False):
        f = backend.Compiled(body, jit=jit)
        np.testing.assert_allclose(backend.to_numpy(f(tf.constant([1.0, 2.0]))), [2.0, 4.0])
        np.testing.assert_allclose(backend.to_numpy(f(tf.constant([-1.0, -2.0]))), [-2.0, -3.0])
    assert "traced with AutoGraph" in caplog.text and "XLA could not compile" not in caplog.text
