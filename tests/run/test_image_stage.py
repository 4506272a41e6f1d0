"""Honest numbers at the edges: a flat map has no metric (not PCC 0 and AUC 0.5), a stochastic map
reports its split-half reliability, and a class the model does not see is flagged."""
import math

import fake_run
import keras
import numpy as np
import pytest
from keras import layers

import constants

from xai_mexculture import explainers
from xai_mexculture import metrics
from xai_mexculture.cli import main
from xai_mexculture.core import data
from xai_mexculture.core import image_io
from xai_mexculture.explainers.lime_method import LIMEExplainer
from xai_mexculture.explainers.rise import RISEExplainer
from xai_mexculture.explainers.smoothgrad import SmoothGradExplainer
from xai_mexculture.render import figures
from xai_mexculture.render import style
from xai_mexculture.results import tables

STEM = "Colonial_DemoTest001_Synthetic"


def test_is_flat_by_the_range_relative_to_the_maximum():
    assert image_io.is_flat(np.zeros((4, 4)))
    assert image_io.is_flat(np.full((4, 4), 0.3))
    assert image_io.is_flat(-np.arange(16.0).reshape(4, 4))  # all negative: all zeros once normalised
    assert image_io.is_flat(1 + 1e-9 * np.arange(16.0).reshape(4, 4))  # relative range 1.5e-8
    assert not image_io.is_flat(1 + 1e-5 * np.arange(16.0).reshape(4, 4))
    assert not image_io.is_flat(1e-30 * np.arange(16.0).reshape(4, 4))  # tiny values still rank the pixels
    two = np.zeros((4, 4))
    two[:, :2] = 1.0
    assert not image_io.is_flat(two)
    # the same answer before and after the normalisation of the maps
    for arr in (two, 1 + 1e-9 * np.arange(16.0).reshape(4, 4), 5 * np.arange(16.0).reshape(4, 4)):
        assert image_io.is_flat(arr) == image_io.is_flat(image_io.normalise(arr))


@pytest.fixture(scope="module")
def demo_scored(demo_model):
    """The metrics of hand-made maps of one demo image: constant, all-zero, two values, and a blob."""
    img = image_io.load_image(constants.DEMO_TEST_IMAGES / f"{STEM}_N_1.png")
    gfdm = image_io.load_gfdm(constants.DEMO_TEST_GFDM / f"{STEM}_GFDM_N_1.png")
    fixations = data.read_fixations(constants.DEMO_TEST_FIXATIONS / f"{STEM}_GazeFix_N_1.txt")[:, :2]
    fixations = data.rescale_points(fixations, (240, 320), gfdm.shape)
    h, w = img.shape[:2]
    two = np.full((h, w), 0.2, np.float32)
    two[:, : w // 2] = 1.0
    yy, xx = np.mgrid[:h, :w]
    blob = np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * 30.0 ** 2)).astype(np.float32)
    maps = {"CONSTANT": np.full((h, w), 0.5, np.float32), "ZERO": np.zeros((h, w), np.float32), "TWO": two,
            "BLOB": blob}
    image = metrics.ImageData(f"{STEM}_N_1.png", img, 0, gfdm, fixations, demo_model, step=2000)
    return metrics.evaluate_image(image, maps)


def test_a_flat_map_has_no_metric_and_a_two_valued_map_has_them_all(demo_scored):
    """A constant map scored PCC 0, NSS 0, AUC-Judd 0.5 and an insertion AUC, averaged as chance."""
    assert demo_scored["CONSTANT"] == {} and demo_scored["ZERO"] == {}
    expected = {"PCC", "SIM", "KLD", "NSS", "AUC_Judd", "Insertion", "Deletion", "MuFidelity", "Sparseness"}
    for name in ("TWO", "BLOB"):
        assert expected <= set(demo_scored[name]), name
        assert all(math.isfinite(v) for v in demo_scored[name].values())
    # the two-valued map splits the image in two: its AUC-Judd is that of a ranking, not 0.5
    assert demo_scored["TWO"]["AUC_Judd"] != pytest.approx(0.5, abs=1e-3)


# --------------------------------------------------------------------------- reliability
def test_rise_reliability_rises_with_the_number_of_masks(demo_model, demo_image):
    img, cls = demo_image
    values = [RISEExplainer(demo_model, n_masks=n, seed=0).explain_details(img[None], [cls], ["a.png"])[1][0]
              for n in (100, 400, 1600)]
    assert values[0] < values[1] < values[2], values
    assert values[2] > 0.85


def test_rise_reliability_does_not_depend_on_the_batch_size(demo_model, demo_image):
    img, cls = demo_image
    a = RISEExplainer(demo_model, n_masks=150, seed=2, batch_size=16).explain_details(img[None], [cls], ["a"])
    b = RISEExplainer(demo_model, n_masks=150, seed=2, batch_size=64).explain_details(img[None], [cls], ["a"])
    # float32 sums of 16 or 64 masks per batch: the maps agree to float32 rounding, and so do the halves
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    assert a[1][0] == pytest.approx(b[1][0], abs=1e-5)


def blind_model(shape=(48, 64)):
    """Output independent of the image: p = softmax(-20, 0, 0) = (1e-9, 0.5, 0.5) for any input."""
    inp = keras.Input(tuple(shape) + (3,))
    conv = layers.Conv2D(2, 3, name="conv")
    x = layers.GlobalAveragePooling2D()(conv(inp))
    dense = layers.Dense(3, activation="softmax", name="head")
    model = keras.Model(inp, dense(x), name="blind")
    conv.set_weights([np.zeros((3, 3, 3, 2), np.float32), np.zeros(2, np.float32)])
    dense.set_weights([np.zeros((2, 3), np.float32), np.array([-20.0, 0.0, 0.0], np.float32)])
    return model


def test_a_map_of_a_model_that_ignores_the_image_has_reliability_near_zero():
    """Every masked image scores the same: the RISE map is the masks' own noise, drawn at full
    contrast (the 1-epoch ResNet50 case); its halves do not agree. The deterministic methods and the
    flat maps of LIME and SmoothGrad (their weights and gradients are 0) have none."""
    model = blind_model()
    img = np.random.default_rng(0).uniform(0, 255, (48, 64, 3)).astype(np.float32)
    rise = RISEExplainer(model, n_masks=400, seed=0)  # 12 draws of masks: one per image name
    values = rise.explain_details(np.repeat(img[None], 12, axis=0), [0] * 12, [f"a{k}" for k in range(12)])[1]
    assert abs(values.mean()) < 0.2 and np.all(values < 0.6), values
    seen = RISEExplainer(model, n_masks=400, seed=0).explain(img[None], [0], ["a"])[0]
    assert not image_io.is_flat(seen) and np.ptp(seen) > figures.FLAT_RANGE  # drawn stretched: it looks like a map
    for cls in (LIMEExplainer, SmoothGradExplainer):
        maps, reliability = cls(model, **cls.quick_params).explain_details(img[None], [0], ["a"])
        assert image_io.is_flat(maps[0]) and math.isnan(reliability[0]), cls.name


@pytest.mark.parametrize("name", explainers.names())
def test_stochastic_methods_and_only_they_report_a_reliability(name, random_cnn):
    cls = explainers.get(name)
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    explainer = cls(random_cnn, **{**cls.quick_params, "seed": 0})
    maps, reliability = explainer.explain_details(images, [0, 1], ["a", "b"])
    np.testing.assert_array_equal(maps, explainer.explain(images, [0, 1], ["a", "b"]))
    assert reliability.shape == (2,)
    if cls.stochastic:
        assert np.all(np.isfinite(reliability) | np.array([image_io.is_flat(m) for m in maps]))
        assert np.all(reliability[np.isfinite(reliability)] <= 1)
    else:
        assert np.all(np.isnan(reliability))
    assert cls.stochastic == (name in {"RISE", "LIME", "SMOOTHGRAD"})


def test_split_half_reliability_is_spearman_brown_of_pearson():
    rng = np.random.default_rng(0)
    a, b = rng.random((8, 8)), rng.random((8, 8))
    r = np.corrcoef(image_io.normalise(a).ravel(), image_io.normalise(b).ravel())[0, 1]
    assert explainers.split_half_reliability(a, b) == pytest.approx(2 * r / (1 + r), rel=1e-6)
    assert explainers.split_half_reliability(a, a) == pytest.approx(1.0)
    assert math.isnan(explainers.split_half_reliability(a, np.zeros((8, 8))))


# --------------------------------------------------------------------------- through the command line
class Flat(explainers.Explainer):
    """A method whose map is constant (it ranks no pixel)."""
    name = "FLATTEST"

    def _explain(self, images, class_indices, keys):
        return [np.full(img.shape[:2], 3.0) for img in images]


@pytest.fixture()
def flat_method():
    explainers.register(Flat)
    yield Flat
    explainers.unregister(Flat.name)


def _folders(tmp_path, stems):
    made = fake_run.demo_folders(tmp_path, [f"{stem}_N_1" for stem in stems])
    return ["--test_images_folder_path", str(made["imgs"]), "--test_gdfm_folder_path", str(made["gfdms"]),
            "--fixations_folder_path", str(made["fixs"]), "--no_progress", "--step", "2000", "--host_workers", "0"]


def _panel_titles(out, name, rows):
    with style.rc():
        fig = figures.grid_figure(figures.from_saved(out, name, rows))
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text()]
        style.close(fig)
    return titles


def test_a_flat_map_is_missing_with_its_reason_through_the_run(flat_method, tmp_path, caplog):
    out = tmp_path / "out"
    args = _folders(tmp_path, [STEM]) + ["--output_dir", str(out), "--explanation_method", "GRADCAM,FLATTEST",
                                         "--references", "CENTER"]
    with caplog.at_level("WARNING", logger="xai_mexculture"):
        assert main.main(args) == 0
    rows = tables.read_rows(out / "results.csv")
    flat = next(r for r in rows if r["method"] == "FLATTEST")
    assert tables.is_flat(flat) and flat["note"].startswith(tables.FLAT_NOTE)
    assert all(math.isnan(flat[m]) for m in tables.metric_names())
    assert all(not tables.is_flat(r) for r in rows if r["method"] != "FLATTEST")
    assert math.isfinite(next(r for r in rows if r["method"] == "GRADCAM")["PCC"])
    warned = [r.getMessage() for r in caplog.records if "flat" in r.getMessage()]
    assert warned == [f"{STEM}_N_1.png: the FLATTEST map is flat (it ranks no pixel): its metrics are left empty"]
    summary = {s["method"]: s for s in tables.read_summary_csv(out / "summary.csv")}
    assert (summary["FLATTEST"]["n"], summary["FLATTEST"]["flat"]) == (0, 1)
    assert (summary["GRADCAM"]["n"], summary["GRADCAM"]["flat"]) == (1, 0)
    assert "- FLATTEST: " + f"{STEM}_N_1.png" in (out / "summary.md").read_text()
    titles = _panel_titles(out, f"{STEM}_N_1.png", rows)
    assert sum("flat map: no ranking" in t for t in titles) == 1


def test_a_class_the_model_does_not_see_is_flagged(tmp_path):
    """p(Colonial) = 1e-9 on every image: the note, the figure's title and the summary say so."""
    model_path = tmp_path / "blind.keras"
    blind_model((64, 64)).save(model_path)
    out = tmp_path / "out"
    args = _folders(tmp_path, [STEM, "Modern_DemoTest001_Synthetic"]) + [
        "--output_dir", str(out), "--model_path", str(model_path), "--explanation_method", "RISE",
        "--rise_masks", "64", "--references", "none"]
    assert main.main(args) == 0
    rows = tables.read_rows(out / "results.csv")
    colonial = next(r for r in rows if r["image"] == f"{STEM}_N_1.png")
    modern = next(r for r in rows if r["image"] != f"{STEM}_N_1.png")
    assert tables.is_unseen(colonial) and 0 < colonial["p_full"] < constants.MIN_CLASS_PROBABILITY  # not 0.000000
    assert not tables.is_unseen(modern) and modern["p_full"] == pytest.approx(0.5, abs=1e-6)
    assert math.isfinite(colonial["reliability"])
    listed = (out / "summary.md").read_text().split("Class not seen")[1]
    assert f"{STEM}_N_1.png: p = 1e-09" in listed and "Modern" not in listed
    titles = _panel_titles(out, f"{STEM}_N_1.png", rows)
    assert "class not seen" in titles[-1] and any("class not seen" in t for t in titles[:-1])
    assert not any("class not seen" in t for t in _panel_titles(out, modern["image"], rows))
