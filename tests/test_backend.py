"""The backend module, and parity: the same maps and curves on TensorFlow and on JAX."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import backend

ROOT = Path(__file__).resolve().parents[1]


def _run_jax(args, **kwargs):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("parity") / "jax.npz"
    res = _run_jax(["tests/backend_parity.py", str(path)])
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(np.load(path))


def test_jax_gives_the_tensorflow_maps_and_curves(jax_results):
    import backend_parity
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
    import explainers
    assert {f"{m}_maps" for m in explainers.names()} <= set(tf_results)
    # the maps are not trivial: each method highlights something
    for method in explainers.names():
        assert all(m.max() == pytest.approx(1.0) and m.min() < 0.9 for m in tf_results[f"{method}_maps"])


def test_main_runs_on_jax_with_the_backend_flag(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    res = subprocess.run([sys.executable, "main.py", "--backend", "jax", "--n_images", "1", "--explanation_method",
                          "GRADCAM,RISE", "--rise_masks", "64", "--step", "4000", "--no_progress",
                          "--output_dir", str(tmp_path)], cwd=ROOT, env=dict(env, JAX_PLATFORMS="cpu"),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["backend"] == "jax" and "jax" in manifest["packages"]
    assert (tmp_path / "maps" / "Colonial_DemoTest001_Synthetic_N_1_RISE.npy").exists()


def test_an_existing_keras_backend_variable_is_respected(tmp_path):
    code = "import sys; sys.path.insert(0, '.'); import backend; print(backend.select_backend(None))"
    res = _run_jax(["-c", code])
    assert res.stdout.strip() == "jax", res.stderr[-2000:]


def test_switching_backend_after_keras_is_loaded_is_refused(capsys):
    import keras  # noqa: F401  (the test process runs on TensorFlow)
    assert backend.select_backend(None) == "tensorflow"
    with pytest.raises(RuntimeError, match="already loaded with the tensorflow backend"):
        backend.select_backend("jax")
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.select_backend("torch")
    import main
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
