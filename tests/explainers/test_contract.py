"""One contract for every registered method: shape, dtype and range of the maps, determinism for a
seed, nested backbones, and a batch of N equal to N single calls (random draws keyed by image)."""
import keras
import numpy as np
import pytest

from xai_mexculture import explainers
from xai_mexculture.core import model_graph

METHODS = explainers.names()


def _make(name, model, **kwargs):
    cls = explainers.get(name)
    return cls(model, **{**cls.quick_params, **kwargs})


def _check_maps(maps, n, shape):
    assert maps.dtype == np.float32 and maps.shape == (n,) + shape
    assert np.all(np.isfinite(maps)) and maps.min() >= 0
    for m in maps:
        assert m.max() == pytest.approx(1.0) or not m.any()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(11)
    blocks = rng.uniform(0, 255, (3, 8, 8, 3))
    return np.repeat(np.repeat(blocks, 4, axis=1), 4, axis=2).astype(np.float32)  # (3, 32, 32, 3)


def test_the_seed_methods_are_registered_in_order():
    assert explainers.default_names() == ["GRADCAM", "FEM", "RISE", "LIME"]
    assert METHODS[:4] == ["GRADCAM", "FEM", "RISE", "LIME"]
    for name in METHODS:
        assert explainers.get(name.lower()).name == name
        assert issubclass(explainers.get(name), explainers.Explainer)


@pytest.mark.parametrize("name", METHODS)
def test_shape_range_and_determinism(name, random_cnn, images):
    classes = np.array([0, 1, 2])
    keys = ["a.png", "b.png", "c.png"]
    first = _make(name, random_cnn, seed=3).explain(images, classes, keys)
    _check_maps(first, 3, (32, 32))
    assert any(m.any() for m in first)
    again = _make(name, random_cnn, seed=3).explain(images, classes, keys)
    np.testing.assert_allclose(first, again, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_a_batch_equals_single_calls(name, random_cnn, images):
    explainer = _make(name, random_cnn, batch_size=2, seed=1)
    classes = np.array([2, 0, 1])
    keys = ["x.png", "y.png", "z.png"]
    batch = explainer.explain(images, classes, keys)
    single = _make(name, random_cnn, batch_size=5, seed=1)  # one image per call, in another order
    singles = np.stack([single.explain(images[i:i + 1], classes[i:i + 1], keys[i:i + 1])[0] for i in (2, 0, 1)])
    singles = singles[[1, 2, 0]]
    atol = np.full(3, 1e-5)
    if name == "OCCLUSION":
        # The map is the mean over the windows covering a pixel of p - s, float32 softmax scores in
        # [0, 1] (ulp <= 2^-24), divided by its peak. The model may sum a batch of another size in
        # another order: allow each score 2 ulps of 1 (eps32 = 2^-23 in all); the difference then errs
        # by <= 2 eps32, so does the mean, and dividing by the peak (its own error as large) makes
        # <= 4 eps32 / peak on values <= 1. The random CNN's scores are near 1/3 each, so the peaks
        # are ~1e-4 and one ulp of a score is already ~1e-5 of the normalised map (another CPU: 2.2e-5).
        peaks = np.array([np.max(m) for m in _make(name, random_cnn, batch_size=5, seed=1)._explain(
            images, classes, keys)])
        atol = np.maximum(atol, 4 * np.finfo(np.float32).eps / peaks)
    for b, s, tol in zip(batch, singles, atol):
        np.testing.assert_allclose(b, s, atol=tol)


@pytest.fixture(scope="module")
def nested_and_inline():
    from xai_mexculture.cli import train
    keras.utils.set_random_seed(0)
    nested = train.build_model(3, "tiny", "none", input_size=(64, 64), nested=True)
    inline = train.build_model(3, "tiny", "none", input_size=(64, 64), nested=False)
    for layer in inline.layers:
        if layer.weights:
            layer.set_weights(model_graph.find_layer(nested, layer.name).get_weights())
    return nested, inline


@pytest.mark.parametrize("name", METHODS)
def test_nested_backbone_gives_the_inlined_maps(name, nested_and_inline, demo_image):
    import cv2
    nested, inline = nested_and_inline
    img = cv2.resize(demo_image[0], (64, 64))[None]
    a = _make(name, nested).explain(img, [1], ["k"])
    b = _make(name, inline).explain(img, [1], ["k"])
    _check_maps(a, 1, (64, 64))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_calls_are_clear_errors(random_cnn, images):
    with pytest.raises(TypeError, match="unknown parameter"):
        explainers.get("RISE")(random_cnn, n_maks=10)
    with pytest.raises(ValueError, match="rise_masks"):
        explainers.get("RISE")(random_cnn, n_masks=0)
    with pytest.raises(ValueError, match="out of range"):
        explainers.get("GRADCAM")(random_cnn).explain(images, [0, 1, 3])
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        explainers.get("FEM")(random_cnn).explain(images[0], [0])
    with pytest.raises(ValueError, match="keys"):
        explainers.get("FEM")(random_cnn).explain(images, [0, 1, 2], keys=["a"])
    with pytest.raises(ValueError, match="unknown explanation method 'SHAP'.*GRADCAM"):
        explainers.get("SHAP")


def test_the_per_image_calls_give_the_registry_maps(demo_model, demo_image):
    from xai_mexculture.explainers.fem import FEM
    from xai_mexculture.explainers.gradcam import GradCAM
    from xai_mexculture.explainers.lime_method import explain_with_lime
    from xai_mexculture.explainers.rise import RISE
    img, cls = demo_image

    def registry(name, **params):
        return explainers.get(name)(demo_model, seed=4, **params).explain(img[None], [cls])[0]
    np.testing.assert_array_equal(GradCAM(demo_model, "ResNet", img, cls).compute_saliency_map(), registry("GRADCAM"))
    np.testing.assert_array_equal(FEM(demo_model, "ResNet", img, cls, k=1.5).compute_saliency_map(),
                                  registry("FEM", k=1.5))
    np.testing.assert_allclose(RISE(demo_model, img, cls, n_masks=100, seed=4).compute_saliency_map(),
                               registry("RISE", n_masks=100), atol=1e-6)
    mask, lime_map = explain_with_lime(demo_model, img, cls, num_samples=50, seed=4)
    np.testing.assert_allclose(lime_map, registry("LIME", num_samples=50), atol=1e-6)
    assert set(np.unique(mask)) <= {0.0, 1.0} and mask.sum() > 0


def test_random_draws_depend_on_seed_and_image_name_only(random_cnn, images):
    rise = _make("RISE", random_cnn, seed=2)
    a = rise.explain(images[:1], [0], ["a.png"])
    np.testing.assert_allclose(rise.explain(images[:1], [0], ["a.png"]), a, atol=1e-6)
    assert not np.allclose(rise.explain(images[:1], [0], ["b.png"]), a, atol=1e-3)
    assert not np.allclose(_make("RISE", random_cnn, seed=3).explain(images[:1], [0], ["a.png"]), a, atol=1e-3)
    assert explainers.seed_for(2, "a.png") == explainers.seed_for(2, "a.png") != explainers.seed_for(2, "b.png")
    assert explainers.seed_for(7) == 7
