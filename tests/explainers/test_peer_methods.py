"""The peers' methods against plain Keras/numpy computations and known-answer models."""
import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REGION, region_mask

from xai_mexculture import explainers
from xai_mexculture.core import image_io
from xai_mexculture.core import model_io


def _plain_parts(model, img, cls):
    """Activations of c2, and the gradients of the class logit w.r.t. them and w.r.t. the input."""
    feats = keras.Model(model.inputs, model.get_layer("c2").output)
    w, b = model.get_layer("out").get_weights()
    x = tf.convert_to_tensor(img[None])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = feats(x)
        tape.watch(a)
        logit = (tf.reduce_mean(a, axis=(1, 2)) @ w + b)[0, cls]
    return a.numpy()[0], tape.gradient(logit, a).numpy()[0], tape.gradient(logit, x).numpy()[0]


def _logit_grad(model, images, cls):
    feats = keras.Model(model.inputs, model.get_layer("c2").output)
    w, b = model.get_layer("out").get_weights()
    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = tf.reduce_mean(feats(x), axis=(1, 2)) @ w + b
        total = tf.reduce_sum(logits[:, cls])
    return tape.gradient(total, x).numpy()


def _upsampled(cam, size=32):
    big = cv2.resize(cam / cam.max(), (size, size), interpolation=cv2.INTER_LINEAR)
    return big / big.max()


@pytest.fixture(scope="module")
def img():
    return np.random.default_rng(21).uniform(0, 255, (32, 32, 3)).astype(np.float32)


def _explain(name, model, img, cls, **params):
    return explainers.get(name)(model, seed=0, **params).explain(img[None], [cls], ["x.png"])[0]


def test_all_eleven_are_registered_in_table_order():
    assert explainers.names()[:11] == ["GRADCAM", "FEM", "RISE", "LIME", "SALIENCY", "INTEGRATED_GRADIENTS",
                                       "SMOOTHGRAD", "GRADCAMPP", "LAYERCAM", "SCORECAM", "OCCLUSION"]
    assert explainers.parse_methods("EVERY")[:11] == explainers.names()[:11]
    assert explainers.parse_methods("ALL") == ["GRADCAM", "FEM", "RISE", "LIME"]


def test_saliency_is_the_max_abs_logit_gradient(random_cnn, img):
    _, _, gx = _plain_parts(random_cnn, img, 1)
    expected = np.abs(gx).max(-1)
    np.testing.assert_allclose(_explain("SALIENCY", random_cnn, img, 1), expected / expected.max(), atol=1e-5)


def test_smoothgrad_is_the_abs_mean_of_noisy_gradients(random_cnn, img):
    n = 6
    noise = np.random.default_rng(explainers.seed_for(0, "x.png")).standard_normal((n, 32, 32, 3), dtype=np.float32)
    grads = _logit_grad(random_cnn, img[None] + np.float32(0.15 * 255) * noise, 2)
    expected = np.abs(grads.mean(0)).max(-1)
    got = _explain("SMOOTHGRAD", random_cnn, img, 2, n_samples=n)
    np.testing.assert_allclose(got, expected / expected.max(), atol=1e-5)


def test_integrated_gradients_is_complete(demo_model):
    import constants
    from xai_mexculture.core import data
    # the Riemann sum's error on these three images: 0.4% of p(x) - p(black) at most with 64 steps (0.1%
    # with 300; float32 round-off is ~1e-6 of it), against the 5% allowed
    ig = explainers.get("INTEGRATED_GRADIENTS")(demo_model, steps=64)
    checked = 0
    for path in data.list_images(constants.DEMO_TEST_IMAGES):
        img, cls = image_io.load_image(path), data.class_index(path.name)
        p = model_io.predict_batched(demo_model, np.stack([img, np.zeros_like(img)]))[:, cls].astype(float)
        if abs(p[0] - p[1]) <= 0.2:
            continue
        total = ig.attributions(img, cls).sum()
        assert total == pytest.approx(p[0] - p[1], abs=0.05 * abs(p[0] - p[1])), (path.name, total, p)
        checked += 1
        if checked == 3:
            break
    assert checked >= 1


def test_gradcampp_and_layercam_match_plain_numpy(random_cnn, img):
    a, g, _ = _plain_parts(random_cnn, img, 0)
    g2, g3 = g ** 2, g ** 3
    denominator = 2 * g2 + a.sum(axis=(0, 1)) * g3
    alpha = np.where((g != 0) & (denominator != 0), g2 / np.where(denominator != 0, denominator, 1), 0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(0, 1))
    pp = np.maximum((a * weights).sum(-1), 0)
    layer = np.maximum((np.maximum(g, 0) * a).sum(-1), 0)
    assert pp.max() > 0 and layer.max() > 0
    np.testing.assert_allclose(_explain("GRADCAMPP", random_cnn, img, 0), _upsampled(pp), atol=1e-5)
    np.testing.assert_allclose(_explain("LAYERCAM", random_cnn, img, 0), _upsampled(layer), atol=1e-5)


def test_scorecam_matches_plain_computation(random_cnn, img):
    feats = keras.Model(random_cnn.inputs, random_cnn.get_layer("c2").output)
    w, b = random_cnn.get_layer("out").get_weights()
    a = feats(img[None]).numpy()[0]
    masks = []
    for k in range(a.shape[-1]):
        up = cv2.resize(a[..., k], (32, 32), interpolation=cv2.INTER_LINEAR)
        masks.append((up - up.min()) / (up.max() - up.min()) if up.max() > up.min() else np.zeros_like(up))
    masked = img[None] * np.stack(masks)[..., None]
    scores = (feats(masked).numpy().mean(axis=(1, 2)) @ w + b)[:, 2]
    weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    cam = np.maximum((a * weights).sum(-1), 0)
    np.testing.assert_allclose(_explain("SCORECAM", random_cnn, img, 2), _upsampled(cam), atol=1e-5)
    # 6 channels + 1 fit in one batch of 64: one call per image; in batches of 4: the activations
    # first, then the channels in two calls
    np.testing.assert_allclose(_explain("SCORECAM", random_cnn, img, 2, batch_size=4), _upsampled(cam), atol=1e-5)


@pytest.mark.parametrize("n_in, n_out, interpolation", [(14, 224, cv2.INTER_LINEAR), (7, 224, cv2.INTER_LINEAR),
                                                        (13, 200, cv2.INTER_LINEAR), (5, 17, cv2.INTER_LINEAR),
                                                        (20, 9, cv2.INTER_LINEAR), (6, 40, cv2.INTER_CUBIC)])
def test_a_resized_map_has_its_extremes_on_the_grid_of_extreme_samples(n_in, n_out, interpolation):
    """SCORECAM min-max scales each upsampled channel from these samples only."""
    r = image_io.resize_matrix(n_in, n_out, interpolation)
    keep = image_io.extreme_samples(r)
    if interpolation == cv2.INTER_LINEAR and n_out > 2 * n_in:
        # the ends of the n_in - 1 runs between inputs, the two clamped runs, the rows on an input
        assert len(keep) <= 3 * n_in + 2
    rng = np.random.default_rng(n_out)
    for _ in range(200):
        m = rng.normal(size=(n_in, n_in))
        full, sub = r @ m @ r.T, r[keep] @ m @ r[keep].T
        assert np.isclose(sub.max(), full.max(), rtol=0, atol=1e-6) and np.isclose(sub.min(), full.min(), rtol=0, atol=1e-6)


def test_occlusion_matches_a_plain_loop(random_cnn, img):
    window, stride = 12, 8
    starts = [0, 8, 16, 20]  # 32 - 12 = 20 is the last position, flush with the edge
    compared = 0
    for cls in range(3):
        p_full = random_cnn(img[None]).numpy()[0, cls]
        total, count = np.zeros((32, 32)), np.zeros((32, 32))
        for y in starts:
            for x in starts:
                occluded = img.copy()
                occluded[y:y + window, x:x + window] = 0
                total[y:y + window, x:x + window] += p_full - random_cnn(occluded[None]).numpy()[0, cls]
                count[y:y + window, x:x + window] += 1
        expected = np.maximum(total / count, 0)
        got = _explain("OCCLUSION", random_cnn, img, cls, window=window, stride=stride)
        if expected.max() == 0:
            assert not got.any()
            continue
        # the probability differences are small here (a random network), so float32 rounding shows
        np.testing.assert_allclose(got, expected / expected.max(), atol=1e-4)
        compared += 1
    assert compared >= 1


@pytest.mark.parametrize("name", ["SALIENCY", "INTEGRATED_GRADIENTS", "SMOOTHGRAD", "GRADCAMPP", "LAYERCAM",
                                  "SCORECAM", "OCCLUSION"])
def test_each_finds_the_region_the_model_looks_at(name, region_model, region_image):
    params = {"SMOOTHGRAD": {"n_samples": 16}, "INTEGRATED_GRADIENTS": {"steps": 16},
              "OCCLUSION": {"window": 16, "stride": 8}}.get(name, {})
    sal = _explain(name, region_model, region_image, 0, **params)
    inside, outside = region_mask() == 1, region_mask() == 0
    assert sal[inside].mean() > 3 * sal[outside].mean(), name
    y, x = np.unravel_index(sal.argmax(), sal.shape)
    grown = cv2.dilate(region_mask(), np.ones((17, 17), np.uint8))  # within a window's reach of the region
    assert grown[y, x] == 1, (name, y, x)
    assert REGION  # the region model of conftest


# --------------------------------------------------------------------------- the peers' metrics
def test_sparseness_by_hand():
    from xai_mexculture.metrics import properties
    assert properties.calculate_sparseness(np.array([[0, 0], [0, 1.0]])) == pytest.approx(0.75)
    assert properties.calculate_sparseness(np.ones((5, 5))) == pytest.approx(0.0)
    assert properties.calculate_sparseness(np.zeros((3, 3))) == 0.0
    # [1, 2, 3]: (2*1-4)*1 + (2*2-4)*2 + (2*3-4)*3 = 4, over 3 * 6
    assert properties.calculate_sparseness(np.array([[3.0, 1.0, 2.0]])) == pytest.approx(4 / 18)


def test_sauc_by_hand():
    from xai_mexculture.metrics import sauc
    sal = np.array([[0.0, 0.1, 0.2, 0.3],
                    [0.4, 0.5, 0.6, 0.7]])
    fixations = np.array([[3, 1], [1, 0]])         # values 0.7 and 0.1
    others = np.array([[0, 0], [2, 1], [1, 0]])    # values 0.0, 0.6, 0.1
    # pairs: 0.7 beats all 3; 0.1 beats 0.0, ties 0.1, loses to 0.6 -> (3 + 1 + 0.5) / 6
    assert sauc.calculate_sauc(fixations, sal, others) == pytest.approx(4.5 / 6)
    # points given in a map twice as large are scaled to the map
    assert sauc.calculate_sauc(fixations * 2 + 0.5, sal, others * 2 + 0.5, shape=(4, 8)) == pytest.approx(4.5 / 6)
    with pytest.raises(ValueError, match="other images"):
        sauc.calculate_sauc(fixations, sal, np.zeros((0, 2)))


def test_mufidelity_is_one_for_the_exact_attribution():
    from xai_mexculture.metrics import mufidelity
    from conftest import patch_model
    model = patch_model((36, 36), (8, 26), (4, 22))
    img = np.full((36, 36, 3), 255.0, np.float32)
    exact = np.zeros((36, 36), np.float32)
    exact[8:26, 4:22] = 1.0  # removing a pixel of the patch lowers p by 1 / 324: mass = drop x 324
    assert mufidelity.calculate_mufidelity(model, img, exact, 0, seed=3) == pytest.approx(1.0, abs=1e-5)
    # cells are removed independently: mass outside the patch says nothing about the drop
    assert abs(mufidelity.calculate_mufidelity(model, img, 1.0 - exact, 0, seed=3)) < 0.3
    assert mufidelity.calculate_mufidelity(model, img, np.ones((36, 36)), 0, seed=3) < 0.9


def test_mufidelity_patterns_and_cells():
    from xai_mexculture.metrics import mufidelity
    removed = mufidelity.mufidelity_patterns(9, 0.2, 2000, seed=1)
    assert removed.shape == (2000, 9, 9) and removed.mean() == pytest.approx(0.2, abs=0.01)
    np.testing.assert_array_equal(removed, mufidelity.mufidelity_patterns(9, 0.2, 2000, seed=1))


def test_max_sensitivity(random_cnn):
    from xai_mexculture import metrics
    from conftest import patch_model
    img = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    for model, expect_zero in ((patch_model((32, 32), (4, 20), (4, 20)), True), (random_cnn, False)):
        methods = {"SALIENCY": explainers.get("SALIENCY")(model)}
        maps = {m: e.explain(img[None], [0], ["x.png"])[0] for m, e in methods.items()}
        image = metrics.ImageData("x.png", img, 0, explainers=methods, seed=4)
        value = metrics.get("MaxSensitivity").compute(image, maps)["SALIENCY"]
        if expect_zero:  # the gradient of a linear model does not depend on the input
            assert value == pytest.approx(0.0, abs=1e-6)
        else:  # a ReLU network's gradient does
            assert value > 1e-3
