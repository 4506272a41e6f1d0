import cv2
import keras
import numpy as np
import pytest
from conftest import REGION, region_mask

from xai_mexculture.core import model_graph
from xai_mexculture.explainers.fem import FEM
from xai_mexculture.explainers.gradcam import GradCAM
from xai_mexculture.explainers.lime_method import explain_with_lime, get_lime_explanation
from xai_mexculture.explainers.rise import RISE, RISEExplainer


def _valid(sal, shape):
    assert sal.dtype == np.float32 and sal.shape == shape
    assert np.all(np.isfinite(sal)) and sal.min() >= 0
    assert sal.max() == pytest.approx(1.0) or not sal.any()


def _pcc(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_region_model_is_what_the_tests_assume(region_model, region_image):
    dark = region_image.copy()
    dark[REGION] = 0
    assert region_model(region_image[None]).numpy()[0, 0] > 0.99
    assert region_model(dark[None]).numpy()[0, 0] < 0.01
    outside = region_image.copy()
    outside[:10] = 0  # rows outside the region do not matter
    np.testing.assert_allclose(region_model(outside[None]).numpy(), region_model(region_image[None]).numpy())


def test_gradcam_and_fem_peak_in_the_region(region_model, region_image):
    assert model_graph.get_last_layer_name(region_model) == "region_only"
    for sal in (GradCAM(region_model, "test", region_image, 0).compute_saliency_map(),
                FEM(region_model, "test", region_image, 0).compute_saliency_map()):
        _valid(sal, (128, 128))
        y, x = np.unravel_index(sal.argmax(), sal.shape)
        assert region_mask()[y, x] == 1
        assert sal[REGION].mean() > 3 * sal[region_mask() == 0].mean()


def test_rise_and_lime_find_the_region(region_model, region_image):
    rise = RISE(region_model, region_image, 0, n_masks=1000, seed=0).compute_saliency_map()
    _, lime_map = explain_with_lime(region_model, region_image, 0, num_samples=300, seed=0)
    inside, outside = region_mask() == 1, region_mask() == 0
    _valid(rise, (128, 128))
    assert _pcc(rise, region_mask()) > 0.7
    # quickshift superpixels (LIME's defaults) are ~40 px wide here and spill past the region's
    # edges, so LIME is checked on its means: the region is fully kept, the rest mostly not.
    _valid(lime_map, (128, 128))
    assert lime_map[inside].mean() > 0.9 and lime_map[outside].mean() < 0.25
    assert _pcc(lime_map, region_mask()) > 0.6


def test_gradcam_matches_plain_computation(random_cnn):
    import tensorflow as tf
    img = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    feats = keras.Model(random_cnn.inputs, random_cnn.get_layer("c2").output)
    w, b = random_cnn.get_layer("out").get_weights()
    a = tf.convert_to_tensor(feats(img[None]))
    with tf.GradientTape() as tape:
        tape.watch(a)
        logit = (tf.reduce_mean(a, axis=(1, 2)) @ w + b)[0, 2]
    g = tape.gradient(logit, a).numpy()[0]
    a = a.numpy()[0]
    cam = np.maximum((a * g.mean(axis=(0, 1))).sum(-1), 0)
    expected = cv2.resize(cam / cam.max(), (32, 32), interpolation=cv2.INTER_LINEAR)
    expected /= expected.max()
    got = GradCAM(random_cnn, "custom", img, 2).compute_saliency_map()
    _valid(got, (32, 32))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_fem_matches_plain_numpy(random_cnn):
    img = np.random.default_rng(2).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    a = keras.Model(random_cnn.inputs, random_cnn.get_layer("c2").output)(img[None]).numpy()[0]
    mu, sd = a.mean(axis=(0, 1)), a.std(axis=(0, 1))
    fem = ((a > mu + 2 * sd) * mu).sum(-1)
    assert fem.max() > 0
    big = np.clip(cv2.resize(fem / fem.max(), (32, 32), interpolation=cv2.INTER_CUBIC), 0, 1)
    expected = big / big.max()
    got = FEM(random_cnn, "custom", img, 0).compute_saliency_map()
    _valid(got, (32, 32))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _copy_weights(src, dst):
    for layer in dst.layers:
        if layer.weights:
            layer.set_weights(model_graph.find_layer(src, layer.name).get_weights())


def test_nested_and_inlined_backbones_give_the_same_maps(demo_image):
    from xai_mexculture.cli import train
    keras.utils.set_random_seed(0)
    nested = train.build_model(3, "tiny", "none", input_size=(64, 64), nested=True)
    inline = train.build_model(3, "tiny", "none", input_size=(64, 64), nested=False)
    _copy_weights(nested, inline)
    img = cv2.resize(demo_image[0], (64, 64))
    np.testing.assert_allclose(nested(img[None]).numpy(), inline(img[None]).numpy(), atol=1e-6)
    assert model_graph.get_last_layer_name(nested) == model_graph.get_last_layer_name(inline) == "block3_out"
    for cls in (GradCAM, FEM):
        a = cls(nested, "ResNet", img, 1).compute_saliency_map()
        b = cls(inline, "ResNet", img, 1).compute_saliency_map()
        _valid(a, (64, 64))
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_features_and_logits_model_on_nested_backbone(demo_model, demo_image):
    model = model_graph.features_and_logits_model(demo_model, model_graph.get_last_layer_name(demo_model))
    acts, logits = model(demo_image[0][None])
    assert acts.shape[1:3] == (14, 14)  # the demo model: stride-4 stem, two stride-2 blocks
    probs = keras.ops.softmax(logits).numpy()
    np.testing.assert_allclose(probs, demo_model(demo_image[0][None]).numpy(), atol=1e-5)


def test_rise_is_seeded(region_model, region_image):
    a = RISE(region_model, region_image, 0, n_masks=64, seed=1).compute_saliency_map()
    b = RISE(region_model, region_image, 0, n_masks=64, seed=1).compute_saliency_map()
    np.testing.assert_array_equal(a, b)
    ma = next(RISE(region_model, region_image, 0, n_masks=64, seed=1).generate_masks())
    mc = next(RISE(region_model, region_image, 0, n_masks=64, seed=2).generate_masks())
    assert not np.array_equal(ma, mc)


def test_rise_masks_are_chunked_and_chunk_independent(region_model, region_image):
    rise = RISE(region_model, region_image, 0, n_masks=8000, chunk_size=256)
    sizes, total, mean = [], 0, 0.0
    for chunk in rise.generate_masks():
        assert chunk.dtype == np.float32 and chunk.shape[1:] == (128, 128)
        assert chunk.min() >= 0 and chunk.max() <= 1
        sizes.append(len(chunk))
        mean += chunk.sum()
        total += len(chunk)
    assert total == 8000 and max(sizes) <= 256 and len(sizes) == 32
    assert mean / (8000 * 128 * 128) == pytest.approx(0.5, abs=0.02)
    small = RISE(region_model, region_image, 0, n_masks=300, chunk_size=100, seed=4)
    large = RISE(region_model, region_image, 0, n_masks=300, chunk_size=300, seed=4)
    np.testing.assert_allclose(np.concatenate(list(small.generate_masks())),
                               next(large.generate_masks()), atol=1e-6)


def test_rise_mask_matches_upsample_then_crop(region_model, region_image):
    rise = RISE(region_model, region_image, 0, n_masks=3, mask_size=7, seed=9)
    grids, shifts = rise.draw_grids()
    masks = next(rise.generate_masks())
    cell = 19  # ceil(128 / 7)
    for g, (dy, dx), m in zip(grids, shifts, masks):
        up = cv2.resize(g, (8 * cell, 8 * cell), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(m, up[dy:dy + 128, dx:dx + 128], atol=1e-5)


def test_lime_is_seeded_and_equals_the_plain_package(region_model, region_image):
    m1, s1 = explain_with_lime(region_model, region_image, 0, num_samples=100, seed=3)
    m2, s2 = explain_with_lime(region_model, region_image, 0, num_samples=100, seed=3)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(m1, m2)
    assert set(np.unique(m1)) <= {0.0, 1.0}
    ours, segments = get_lime_explanation(region_model, region_image, 0, num_samples=100, seed=3)
    plain = lime_image_explanation(region_model, region_image, segments, 100, 3, None)
    assert dict(ours.local_exp[0]) == pytest.approx(dict(plain.local_exp[0]), abs=1e-6)


def test_all_four_on_the_demo_model(demo_model, demo_image):
    img, cls = demo_image
    maps = [GradCAM(demo_model, "ResNet", img, cls).compute_saliency_map(),
            FEM(demo_model, "ResNet", img, cls).compute_saliency_map(),
            RISE(demo_model, img, cls, n_masks=128).compute_saliency_map(),
            explain_with_lime(demo_model, img, cls, num_samples=64)[1]]
    for sal in maps:
        _valid(sal, (224, 224))
        assert sal.max() == pytest.approx(1.0)


def test_bad_inputs_are_clear_errors(region_model, region_image):
    with pytest.raises(ValueError, match="class_index"):
        GradCAM(region_model, "x", region_image, 5)
    with pytest.raises(ValueError, match="shape"):
        RISE(region_model, region_image[..., 0], 0)
    with pytest.raises(ValueError, match="not found"):
        GradCAM(region_model, "x", region_image, 0, layer_name="nope").compute_saliency_map()


def test_fused_rise_equals_the_numpy_reference(region_model, region_image):
    rise = RISE(region_model, region_image, 0, n_masks=150, seed=5, batch_size=64, chunk_size=40)
    total = np.zeros((128, 128))
    scores = []
    for masks in rise.generate_masks():
        s = rise.obtain_prediction_scores(masks)
        total += rise.weight_saliency_maps(s, masks)
        scores.append(s)
    reference = rise.calculate_saliency_map(total)
    fused = rise.compute_saliency_map()
    _, fused_scores = RISEExplainer(region_model, batch_size=64, seed=5, n_masks=150).explain_one(region_image, 0)
    np.testing.assert_allclose(fused_scores, np.concatenate(scores), atol=1e-5)
    np.testing.assert_allclose(fused, reference, atol=1e-5)


def test_lime_fallback_for_a_plain_classifier_function(region_model, region_image):
    from xai_mexculture.explainers.lime_method import make_lime_explainer, segment
    segments = segment(region_image, 0)
    fn = lambda b: region_model(np.asarray(b, np.float32)).numpy()  # noqa: E731
    plain = make_lime_explainer(random_state=1).explain_instance(
        region_image.astype(np.float64), fn, labels=(0,), top_labels=None, num_samples=50,
        batch_size=16, segmentation_fn=lambda _: segments, random_seed=1)
    ours, _ = get_lime_explanation(region_model, region_image, 0, num_samples=50, seed=1,
                                   segments=segments)
    assert dict(plain.local_exp[0]) == pytest.approx(dict(ours.local_exp[0]), abs=1e-6)


def test_compiled_and_uncompiled_agree(region_model, region_image):
    on = RISEExplainer(region_model, seed=2, n_masks=100, jit=True).explain(region_image[None], [0])
    off = RISEExplainer(region_model, seed=2, n_masks=100, jit=False).explain(region_image[None], [0])
    np.testing.assert_allclose(on, off, atol=1e-5)


def test_lime_images_with_different_superpixel_counts_share_one_compiled_shape(region_model, region_image):
    # Keras/XLA compiles once per input shape: the on/off patterns of every image go in with the same
    # width, whatever its number of superpixels (before: one compilation per image of a run)
    from xai_mexculture import explainers
    lime = explainers.build("LIME", region_model, batch_size=32, options={"num_samples": 40})
    widths, call = [], lime._fn
    lime._fn = lambda rows, *rest: (widths.append(np.shape(rows)), call(rows, *rest))[1]
    few = np.repeat(np.repeat(np.arange(4), 32)[None, :], 128, axis=0)  # 4 superpixels
    many = (np.arange(128)[:, None] // 16) * 8 + np.arange(128)[None, :] // 16  # 64
    for segments in (few, many):
        lime.give_segments(region_image, "a", segments)
        ours, _ = lime.explanation(region_image, 0, "a")
    assert len(set(widths)) == 1 and widths[0][1] >= 64
    plain = lime_image_explanation(region_model, region_image, many, 40, lime.seed, "a")
    assert dict(ours.local_exp[0]) == pytest.approx(dict(plain.local_exp[0]), abs=1e-6)


def lime_image_explanation(model, img, segments, num_samples, seed, key):
    """The plain lime package's explanation with the seed LIMEExplainer uses for `key`."""
    from xai_mexculture import explainers
    from lime import lime_image
    s = explainers.seed_for(seed, key)
    return lime_image.LimeImageExplainer(random_state=s).explain_instance(
        img.astype(np.float64), lambda b: model(np.asarray(b, np.float32)).numpy(), labels=(0,), top_labels=None,
        num_samples=num_samples, segmentation_fn=lambda _: segments, random_seed=s)
