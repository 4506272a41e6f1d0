import cv2
import numpy as np
import pytest
from conftest import patch_model

from xai_mexculture.metrics import causal


def test_calculate_auc():
    assert causal.calculate_auc([1, 0]) == pytest.approx(0.5)
    assert causal.calculate_auc([1, 0.75, 0.5, 0.25, 0]) == pytest.approx(0.5)
    assert causal.calculate_auc([0, 1, 1]) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        causal.calculate_auc([1.0])


# Model: p(class 0) = mean over the 4 x 4 patch (rows 2..5, cols 2..5) of pixel / 255.
SHAPE, ROWS, COLS = (8, 8), (2, 6), (2, 6)


@pytest.fixture(scope="module")
def pmodel():
    return patch_model(SHAPE, ROWS, COLS)


def _perfect():
    sal = np.zeros(SHAPE)
    sal[ROWS[0]:ROWS[1], COLS[0]:COLS[1]] = 1
    return sal


def test_deletion_closed_form(pmodel):
    img = np.full(SHAPE + (3,), 255, np.float32)
    scores, auc = causal.deletion(pmodel, img, _perfect(), 0, step=4)
    # 16 patch pixels deleted first, 4 per step: 1, .75, .5, .25, then 0 for the 12 other steps
    expected = np.array([1, 0.75, 0.5, 0.25] + [0] * 13)
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert auc == pytest.approx(2.0 / 16)
    rev_scores, rev_auc = causal.deletion(pmodel, img, 1 - _perfect(), 0, step=4)
    np.testing.assert_allclose(rev_scores, [1] * 13 + [0.75, 0.5, 0.25, 0], atol=1e-6)
    assert rev_auc == pytest.approx(14.0 / 16)


def test_deletion_baseline_is_configurable(pmodel):
    img = np.full(SHAPE + (3,), 255, np.float32)
    scores, _ = causal.deletion(pmodel, img, _perfect(), 0, step=16, baseline=127.5)
    np.testing.assert_allclose(scores[:2], [1.0, 0.5], atol=1e-6)


def test_deletion_baselines_by_name_and_array(pmodel):
    img = np.zeros(SHAPE + (3,), np.float32)
    img[ROWS[0]:ROWS[1], COLS[0]:COLS[1]] = 255  # mean colour 16 * 255 / 64 = 63.75
    black, _ = causal.deletion(pmodel, img, _perfect(), 0, step=64)
    mean, _ = causal.deletion(pmodel, img, _perfect(), 0, step=64, baseline="mean")
    blurred = cv2.GaussianBlur(img, (11, 11), 5)
    blur, _ = causal.deletion(pmodel, img, _perfect(), 0, step=64, baseline="blur")
    np.testing.assert_allclose(black, [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(mean, [1.0, 0.25], atol=1e-6)
    np.testing.assert_allclose(blur, [1.0, blurred[2:6, 2:6, 0].mean() / 255], atol=1e-5)
    ramp = np.broadcast_to(np.linspace(0, 255, 64, dtype=np.float32).reshape(SHAPE)[..., None], SHAPE + (3,))
    arr, _ = causal.deletion(pmodel, img, _perfect(), 0, step=64, baseline=ramp)
    np.testing.assert_allclose(arr[1], ramp[2:6, 2:6, 0].mean() / 255, atol=1e-5)
    with pytest.raises(ValueError, match="unknown baseline 'grey'"):
        causal.deletion(pmodel, img, _perfect(), 0, baseline="grey")
    with pytest.raises(ValueError, match="image's shape"):
        causal.deletion(pmodel, img, _perfect(), 0, baseline=np.zeros((4, 4, 3)))


def test_insertion_start_is_configurable(pmodel):
    img = np.full(SHAPE + (3,), 255, np.float32)
    black, auc = causal.insertion(pmodel, img, _perfect(), 0, step=4, start="black")
    np.testing.assert_allclose(black, [0, 0.25, 0.5, 0.75] + [1] * 13, atol=1e-6)  # mirror of deletion
    assert auc == pytest.approx(1 - 2.0 / 16)
    grey, _ = causal.insertion(pmodel, img, _perfect(), 0, step=4, start=51.0)
    np.testing.assert_allclose(grey[:2], [0.2, 0.4], atol=1e-6)
    same, _ = causal.insertion(pmodel, img, _perfect(), 0, step=4, start="mean")  # uniform image
    np.testing.assert_allclose(same, 1.0, atol=1e-6)


def test_fill_label():
    assert causal.fill_label(0.0) == "0" and causal.fill_label(127.5) == "127.5"
    assert causal.fill_label("mean") == "mean" and causal.fill_label(np.zeros((2, 2, 3))) == "array"


def test_insertion_closed_form(pmodel):
    img = np.zeros(SHAPE + (3,), np.float32)
    img[ROWS[0]:ROWS[1], COLS[0]:COLS[1]] = 255
    blurred = cv2.GaussianBlur(img, (11, 11), 5)
    scores, auc = causal.insertion(pmodel, img, _perfect(), 0, step=4)
    patch_blur = blurred[ROWS[0]:ROWS[1], COLS[0]:COLS[1], 0].ravel() / 255  # raster order = insertion order
    expected = [(min(4 * k, 16) * 1.0 + patch_blur[min(4 * k, 16):].sum()) / 16 for k in range(17)]
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert auc == pytest.approx(causal.calculate_auc(expected), abs=1e-6)
    _, rev_auc = causal.insertion(pmodel, img, 1 - _perfect(), 0, step=4)
    assert auc > rev_auc
    _, del_auc = causal.deletion(pmodel, img, _perfect(), 0, step=4)
    _, del_rev = causal.deletion(pmodel, img, 1 - _perfect(), 0, step=4)
    assert del_auc < del_rev


@pytest.mark.parametrize("shape,step,n", [((10, 7), 224, 1), ((10, 7), 16, 5), ((10, 7), 7, 10),
                                          ((13, 13), 10, 17)])
def test_step_counts(shape, step, n):
    model = patch_model(shape, (0, 2), (0, 2))
    img = np.full(shape + (3,), 255, np.float32)
    sal = np.random.default_rng(0).random(shape)
    scores, _ = causal.deletion(model, img, sal, 0, step=step)
    assert causal.n_steps(shape, step) == n and len(scores) == n + 1
    assert scores[-1] == pytest.approx(0.0)  # everything deleted at the end


def test_ties_are_broken_in_raster_order():
    rank = causal.pixel_order(np.array([[0.5, 1.0], [0.5, 0.5]]))
    np.testing.assert_array_equal(rank, [1, 0, 2, 3])


def test_set_n_pixels_helpers():
    img = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    sal = np.array([[0.2, 0.9], [0.5, 0.1]])
    out = causal.set_n_pixels_deletion(img, sal, 2)
    assert np.all(out[0, 1] == 0) and np.all(out[1, 0] == 0) and np.all(out[0, 0] == img[0, 0])
    blurred = np.full_like(img, -1)
    ins = causal.set_n_pixels_insertion(blurred, img, sal, 1)
    assert np.all(ins[0, 1] == img[0, 1]) and np.all(ins[0, 0] == -1)


def test_several_maps_scored_together_equal_one_by_one(pmodel):
    img = np.random.default_rng(4).uniform(0, 255, SHAPE + (3,)).astype(np.float32)
    maps = {"a": _perfect(), "b": np.random.default_rng(5).random(SHAPE)}
    together = causal.causal_curves(pmodel, img, maps, 0, step=5, batch_size=8)
    for name, sal in maps.items():
        np.testing.assert_allclose(together[name]["deletion"][0], causal.deletion(pmodel, img, sal, 0, step=5)[0])
        np.testing.assert_allclose(together[name]["insertion"][0], causal.insertion(pmodel, img, sal, 0, step=5)[0])
