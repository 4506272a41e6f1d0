"""The model-randomisation sanity check (sanity.py, main.py --sanity)."""
import csv
import json
import logging
import re
import shutil

import keras
import numpy as np
import pytest
from conftest import jax_part
from keras import layers

import constants

from xai_mexculture import explainers
from xai_mexculture.cli import main
from xai_mexculture.core import model_graph
from xai_mexculture.metrics import sanity
from xai_mexculture.run import exits
from xai_mexculture.run import options

FAST = ["--rise_masks", "32", "--lime_samples", "16", "--step", "4000", "--no_progress", "--display_type", "none"]
ORDER = ["out", "fc", "c2", "bn", "c1"]  # the weighted layers, output first


def nested_model():
    """Rescaling -> nested backbone (c1 conv, bn, relu, c2 conv) -> GAP -> fc -> out (softmax), seeded,
    with batch-normalisation weights away from their initial values."""
    keras.utils.set_random_seed(11)
    inner_in = keras.Input((32, 32, 3))
    y = layers.Conv2D(4, 3, name="c1")(inner_in)
    y = layers.BatchNormalization(name="bn")(y)
    y = layers.Activation("relu", name="relu")(y)
    y = layers.Conv2D(6, 3, strides=2, activation="relu", name="c2")(y)
    backbone = keras.Model(inner_in, y, name="backbone")
    inp = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255.0, name="scale")(inp)
    x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(8, activation="relu", name="fc")(x)
    out = layers.Dense(3, activation="softmax", name="out")(x)
    model = keras.Model(inp, out, name="nested")
    bn = backbone.get_layer("bn")
    bn.set_weights([np.full(4, 2.0, np.float32), np.full(4, 0.5, np.float32), np.full(4, 0.3, np.float32),
                    np.full(4, 4.0, np.float32)])
    model.get_layer("out").set_weights([w + 0.3 for w in model.get_layer("out").get_weights()])
    return model


@pytest.fixture(scope="module")
def model():
    return nested_model()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(5)
    return rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)


def _weights(model):
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in model_graph.weighted_layers(model)}


class Fixed(explainers.Explainer):
    """A map that does not depend on the model: the image's brightness."""
    name = "FIXED"

    def _explain(self, images, class_indices, keys):
        return [img.mean(axis=-1) for img in images]


@pytest.fixture()
def fixed():
    explainers.register(Fixed)
    yield Fixed
    explainers.unregister("FIXED")


def test_layer_order_nested_models_and_batch_normalisation(model):
    assert [l.name for l in model_graph.weighted_layers(model)] == ORDER[::-1]  # not scale, relu, gap, backbone
    assert [l.name for l in sanity.cascade_layers(model, 5)] == ORDER
    assert [(d, name) for d, name, _ in sanity.randomised_copies(model, k=5)] == list(enumerate(ORDER, 1))
    original = _weights(model)
    for depth, name, copy in sanity.randomised_copies(model, k=5):
        assert copy is not model and name == ORDER[depth - 1]
        changed = [n for n, ws in _weights(copy).items()
                   if not all(np.array_equal(a, b) for a, b in zip(ws, original[n]))]
        assert sorted(changed) == sorted(ORDER[:depth]), depth  # exactly the top `depth` layers
    with pytest.raises(ValueError, match="has 5 weighted layers; cannot randomise the top 6"):
        sanity.cascade_layers(model, 6)


def test_batch_normalisation_goes_back_to_its_initial_state(model):
    copies = {d: c for d, _, c in sanity.randomised_copies(model, k=4)}
    bn = model_graph.find_layer(copies[4], "bn")
    gamma, beta, mean, variance = bn.get_weights()
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(variance == 1)
    untouched = model_graph.find_layer(copies[3], "bn").get_weights()
    np.testing.assert_allclose([w[0] for w in untouched], [2.0, 0.5, 0.3, 4.0])
    fc = model_graph.find_layer(copies[4], "fc")
    kernel, bias = fc.get_weights()
    limit = np.sqrt(6 / sum(kernel.shape))  # glorot uniform, zero bias: the layer's own initializers
    assert np.all(bias == 0) and np.abs(kernel).max() <= limit and kernel.std() > limit / 4


def test_the_original_model_is_untouched(model, images):
    before = [np.array(w) for w in model.get_weights()]
    probs = np.array(model(images))
    cascade = sanity.Cascade(model, k=5, seed=0)
    assert not {id(v) for v in model.variables} & {id(v) for v in cascade.model.variables}
    gradcam = explainers.build("GRADCAM", cascade.model, jit=False)
    for depth in range(6):
        cascade.set_depth(depth)
        gradcam.explain(images, [0, 1])
    for _ in sanity.randomised_copies(model, k=5):
        pass
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before, model.get_weights()))
    np.testing.assert_array_equal(np.array(model(images)), probs)
    cascade.set_depth(0)  # depth 0: the copy is the model again
    np.testing.assert_allclose(np.array(cascade.model(images)), probs, atol=1e-6)


def test_seeded(model):
    a = [_weights(c) for _, _, c in sanity.randomised_copies(model, k=5, seed=0)]
    b = [_weights(c) for _, _, c in sanity.randomised_copies(model, k=5, seed=0)]
    other = _weights(list(sanity.randomised_copies(model, k=5, seed=1))[-1][2])
    for x, y in zip(a, b):
        assert all(np.array_equal(u, v) for n in x for u, v in zip(x[n], y[n]))
    # cumulative: a layer randomised at depth 1 has the same values at depth 5
    assert all(np.array_equal(u, v) for u, v in zip(a[0]["out"], a[4]["out"]))
    assert not np.array_equal(a[4]["c1"][0], other["c1"][0])


def test_a_frozen_layer_still_counts():
    frozen = nested_model()
    frozen.get_layer("backbone").trainable = False
    assert [l.name for l in sanity.cascade_layers(frozen, 5)] == ORDER


def test_an_explainer_built_once_follows_the_depth(model, images):
    """The compiled function of an explainer built on cascade.model reads the re-initialised weights."""
    cascade = sanity.Cascade(model, k=3, seed=0)
    reused = explainers.build("GRADCAM", cascade.model, jit=True)
    for depth, _, copy in sanity.randomised_copies(model, k=3, seed=0):
        cascade.set_depth(depth)
        fresh = explainers.build("GRADCAM", copy, jit=True).explain(images, [0, 1])
        np.testing.assert_allclose(reused.explain(images, [0, 1]), fresh, atol=1e-5)


def test_spearman_and_ssim_of_special_maps(caplog):
    rng = np.random.default_rng(0)
    a = rng.random((16, 16)).astype(np.float32)
    assert sanity.spearman(a, a) == 1.0 and sanity.ssim(a, a) == pytest.approx(1.0)
    assert sanity.spearman(a, a ** 3) == pytest.approx(1.0)  # ranks only
    assert sanity.spearman(a, 1 - a) == pytest.approx(-1.0)
    zeros = np.zeros_like(a)
    assert sanity.spearman(zeros, zeros) == 1.0
    with caplog.at_level(logging.WARNING):
        assert sanity.spearman(a, zeros) == 0.0
    assert "constant map" in caplog.text
    with pytest.raises(ValueError, match="different sizes"):
        sanity.spearman(a, a[:8])


def test_a_model_independent_method_is_flagged_and_gradcam_is_not(model, images, fixed):
    cascade = sanity.Cascade(model, k=5, seed=0)
    methods = ["FIXED", "GRADCAM"]
    own = {m: explainers.build(m, model, jit=False) for m in methods}
    copies = {m: explainers.build(m, cascade.model, jit=False) for m in methods}
    rows = []
    for i, img in enumerate(images):
        originals = {m: own[m].explain(img[None], [i], keys=[f"im{i}"])[0] for m in methods}
        rows += sanity.check_image(cascade, copies, img, i, f"im{i}", originals)
    assert cascade.depth == 0 and len(rows) == 2 * 2 * 5
    assert [r["layer"] for r in rows[:10:2]] == ORDER
    fixed_rows = [r for r in rows if r["method"] == "FIXED"]
    assert all(r["spearman"] == 1.0 and r["ssim"] == pytest.approx(1.0) for r in fixed_rows)
    gradcam = [r["spearman"] for r in rows if r["method"] == "GRADCAM"]
    assert min(gradcam) < 0.5 and np.mean(gradcam) < 0.8
    assert sanity.close_methods(rows) == ["FIXED"]
    text = sanity.summary_text(rows)
    assert "FIXED stays close to the original" in text and "GRADCAM" in text
    assert "GRADCAM stays" not in text and "down to c1" in text


def test_main_with_sanity_writes_the_table_the_plot_and_the_summary(tmp_path, fixed):
    imgs, gfdms = tmp_path / "images", tmp_path / "gfdm"
    imgs.mkdir()
    gfdms.mkdir()
    names = ["Colonial_DemoTest001_Synthetic_N_1", "Modern_DemoTest001_Synthetic_N_1"]
    for stem in names:
        shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}.png", imgs)
        shutil.copy(constants.DEMO_TEST_GFDM / f"{stem.replace('_N_1', '_GFDM_N_1')}.png", gfdms)
    out = tmp_path / "out"
    argv = ["--test_images_folder_path", str(imgs), "--test_gdfm_folder_path", str(gfdms),
            "--explanation_method", "GRADCAM,FIXED", "--sanity", "--sanity_layers", "2",
            "--output_dir", str(out)] + FAST
    assert main.main(argv) == exits.EXIT_OK
    with (out / "sanity.csv").open() as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["image", "method", "randomised_layers", "layer", "spearman", "ssim"]
    assert len(rows) == 2 * 2 * 2
    assert {(r["image"], r["method"], r["randomised_layers"]) for r in rows} == {
        (f"{n}.png", m, d) for n in names for m in ("GRADCAM", "FIXED") for d in ("1", "2")}
    from xai_mexculture.core import model_io
    top = [l.name for l in sanity.cascade_layers(model_io.load_model(constants.DEMO_MODEL), 2)]
    assert {r["randomised_layers"]: r["layer"] for r in rows} == {"1": top[0], "2": top[1]}
    assert all(float(r["spearman"]) == 1.0 for r in rows if r["method"] == "FIXED")
    assert all(-1 <= float(r["spearman"]) < 1 and -1 <= float(r["ssim"]) < 1 for r in rows if r["method"] == "GRADCAM")
    assert (out / "sanity.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert "Sanity check" in summary and "FIXED stays close to the original" in summary
    assert json.loads((out / "manifest.json").read_text())["numbers"]["sanity_layers"] == 2
    # --resume: nothing recomputed, the same table
    before = (out / "sanity.csv").read_text()
    calls = []
    real = sanity.check_image
    sanity.check_image = lambda *a, **k: calls.append(a[3]) or real(*a, **k)
    try:
        assert main.main(argv + ["--resume"]) == exits.EXIT_OK
    finally:
        sanity.check_image = real
    assert calls == [] and (out / "sanity.csv").read_text() == before


def test_main_sanity_flags_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        options.parse_args(["--sanity", "--sanity_layers", "0"])
    assert "--sanity_layers must be >= 1" in capsys.readouterr().err
    out = tmp_path / "out"
    status = main.main(["--n_images", "1", "--explanation_method", "GRADCAM", "--sanity", "--sanity_layers", "99",
                        "--output_dir", str(out)] + FAST)
    assert status == exits.EXIT_USAGE
    assert re.search(r"--sanity: model '\w+' has \d+ weighted layers; cannot randomise the top 99",
                     capsys.readouterr().err)
    assert not out.exists()


def check_the_cascade():
    """An explainer built once on the cascade's model gives, at each depth, the maps of one built on
    a fresh randomised copy; the batch normalisation back at its initial state; the model untouched
    (run on JAX by tests/jax_checks.py)."""
    model = nested_model()
    before = [np.array(w) for w in model.get_weights()]
    images = np.random.default_rng(5).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    cascade = sanity.Cascade(model, k=5, seed=0)
    reused = explainers.build("GRADCAM", cascade.model)
    for depth, _, copy in sanity.randomised_copies(model, k=5, seed=0):
        cascade.set_depth(depth)
        fresh = explainers.build("GRADCAM", copy).explain(images, [0, 1])
        np.testing.assert_allclose(reused.explain(images, [0, 1]), fresh, atol=1e-5)
    bn = [w[0] for w in cascade.model.get_layer("backbone").get_layer("bn").get_weights()]
    assert bn == [1, 0, 0, 1], bn
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before, model.get_weights()))


def test_the_cascade_on_jax(jax_checks):
    jax_part(jax_checks, "cascade")  # check_the_cascade in the process on JAX
