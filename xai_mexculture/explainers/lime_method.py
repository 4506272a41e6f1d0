"""LIME, Local Interpretable Model-agnostic Explanations (Ribeiro, Singh, Guestrin, "Why Should I
Trust You?": Explaining the Predictions of Any Classifier", KDD 2016), with the `lime` package.

The image is cut into quickshift superpixels (kernel_size=4, max_dist=200, ratio=0.2); LIME samples
num_samples on/off patterns of superpixels, scores them with the model in large batches, and fits a
weighted linear model. The continuous map gives each superpixel its weight for the class, negatives
clipped to 0, divided by the maximum; the binary mask keeps the top positive superpixels.
The segmentation and the patterns are drawn on the host (numpy, seeded from (seed, image name));
the perturbed images are assembled from the patterns inside one compiled call per batch.
"""
import functools

import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.registry import Param, at_least, check_class_indices, check_image


def segment(img_array, seed=constants.SEED, kernel_size=constants.LIME_KERNEL_SIZE,
            max_dist=constants.LIME_MAX_DIST, ratio=constants.LIME_RATIO) -> np.ndarray:
    """Quickshift superpixels of an RGB [0, 255] image: int (H, W) labels, deterministic."""
    from skimage.segmentation import quickshift
    image = np.asarray(img_array, np.float64) / 255.0
    return quickshift(image, kernel_size=kernel_size, max_dist=max_dist, ratio=ratio, rng=seed)


def image_fingerprint(img) -> str:
    """A digest of an image as the explainer sees it (float32 values and shape)."""
    import hashlib
    arr = np.ascontiguousarray(np.asarray(img, np.float32))
    return hashlib.blake2b(arr.tobytes() + repr(arr.shape).encode(), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=None)
def _batched_explainer_class():
    from lime import lime_image

    class Batched(lime_image.LimeImageExplainer):
        """LimeImageExplainer whose neighbourhood is assembled vectorised, batch by batch.

        Draws the same on/off patterns from the same random state as the package, so the
        explanation is the package's; only the per-sample Python loop (and its tqdm bar) is gone.
        """

        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples,
                        batch_size=10):
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features)
            data = data.reshape((num_samples, n_features))
            data[0, :] = 1
            self.neighbourhood = None
            image = np.asarray(image, np.float32)
            fudged = np.asarray(fudged_image, np.float32)
            if hasattr(classifier_fn, "score_patterns"):
                labels = classifier_fn.score_patterns(data, image, fudged, segments)
            else:
                labels = np.concatenate([
                    classifier_fn(np.where(data[start:start + batch_size][:, segments].astype(bool)[..., None],
                                           image[None], fudged[None]))
                    for start in range(0, num_samples, batch_size)])
            self.neighbourhood = (data, labels)  # kept for the split-half refits (halves)
            return data, labels

        def halves(self, class_index, segments):
            """The superpixel weights of the class refitted on the first and on the second half of
            the samples just drawn (the package's weighted ridge fit on each half; no model
            evaluation): two (H, W) maps, or zeros when a half has fewer than 2 samples."""
            import sklearn.metrics
            data, labels = self.neighbourhood
            distances = sklearn.metrics.pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
            half = len(data) // 2
            out = []
            for part in (slice(0, half), slice(half, None)):
                if len(data[part]) < 2 or constant(labels[part, class_index]):
                    out.append(np.zeros(segments.shape))
                    continue
                _, weights, _, _ = self.base.explain_instance_with_data(
                    data[part], labels[part], distances[part], class_index, 100000,
                    feature_selection=self.feature_selection)
                out.append(weights_map(dict(weights), segments))
            return out
    return Batched


def constant(scores) -> bool:
    """Whether the class's scores are the same for every sample: the superpixels change nothing, so
    every weight is 0 (the ridge fit returns rounding noise instead, which `normalise` stretched
    into a full-contrast map)."""
    return bool(np.ptp(np.asarray(scores, np.float64)) == 0)


def weights_map(weights, segments) -> np.ndarray:
    """Each pixel given the weight {superpixel: weight} of its superpixel (0 for none): (H, W)."""
    lookup = np.zeros(int(segments.max()) + 1, np.float64)
    for sp, weight in weights.items():
        lookup[sp] = weight
    return lookup[segments]


def make_lime_explainer(**kwargs):
    """A lime_image.LimeImageExplainer with a vectorised, batched neighbourhood (see above)."""
    return _batched_explainer_class()(**kwargs)


class _PatternScorer:
    """LIME's classifier_fn: plain batches of images, or (fast path) on/off patterns of superpixels
    turned into images inside one compiled call per batch."""

    def __init__(self, explainer):
        self.explainer = explainer

    def __call__(self, images):
        from xai_mexculture.core import model_io
        return model_io.predict_batched(self.explainer.model, images, self.explainer.batch_size)

    def score_patterns(self, patterns, image, fudged, segments):
        patterns = np.asarray(patterns, np.int32)
        # columns padded to a power of two (at least 64): images with different numbers of
        # superpixels share one compiled call instead of one compilation each (no segment label
        # points at a padding column, so the images are the same)
        width = max(64, 1 << (patterns.shape[1] - 1).bit_length())
        patterns = np.pad(patterns, ((0, 0), (0, width - patterns.shape[1])))
        image, fudged = backend.to_tensor(image), backend.to_tensor(fudged)
        segments = backend.to_tensor(segments, "int32")
        return backend.stack_batches(self.explainer._fn, len(patterns), self.explainer.batch_size,
                                     lambda idx: (patterns[idx], image, fudged, segments))


@registry.register(in_all=True)
class LIMEExplainer(registry.Explainer):
    """LIME for a batch of images (one after the other, each with batched model calls)."""
    name = "LIME"
    description = "LIME with quickshift superpixels (Ribeiro et al. 2016)"
    params = (Param("num_samples", "lime_samples", int, constants.LIME_NUM_SAMPLES,
                    "LIME: perturbed samples", check=at_least(1)),
              Param("num_features", "lime_features", int, constants.LIME_NUM_FEATURES,
                    "LIME: superpixels kept in the binary mask (the map does not depend on it)",
                    changes_numbers=False, check=at_least(1)))

    quick_params = {"num_samples": 32}

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        self._fn = backend.Compiled(self._body, model.variables, jit)
        self._given = {}  # key -> (fingerprint of the image, segments): segmentations made beforehand

    def give_segments(self, img, key, segments) -> None:
        """A segmentation of `img` made beforehand (e.g. in a host process: segment(img,
        registry.seed_for(seed, key))), used once by the next explanation of that same image and
        key instead of segmenting again; another image with that key (e.g. a perturbed copy) is
        segmented as usual."""
        self._given[key] = (image_fingerprint(img), np.asarray(segments))

    def _segments(self, img, key, seed):
        given = self._given.pop(key, None)
        if given is not None and given[0] == image_fingerprint(img):
            return given[1]
        return segment(img, seed)

    def evaluations_per_image(self):
        return self.num_samples

    def _body(self, rows, image, fudged, segments):
        from keras import ops
        keep = ops.take(ops.cast(rows, "bool"), segments, axis=1)  # (b, H, W)
        images = ops.where(ops.expand_dims(keep, -1), ops.expand_dims(image, 0), ops.expand_dims(fudged, 0))
        return self.model(images, training=False)

    def _fit(self, img, class_index, key=None, segments=None):
        """(the lime explainer, its explanation, segments) of one image; the seed of the
        segmentation and of the sampling comes from (seed, key)."""
        seed = registry.seed_for(self.seed, key)
        if segments is None:
            segments = self._segments(img, key, seed)
        lime = make_lime_explainer(random_state=seed)
        explanation = lime.explain_instance(
            np.asarray(img, np.float64), classifier_fn=_PatternScorer(self), labels=(int(class_index),),
            top_labels=None, num_samples=self.num_samples, batch_size=self.batch_size,
            segmentation_fn=lambda _: segments, random_seed=seed)
        return lime, explanation, segments

    def explanation(self, img, class_index, key=None, segments=None):
        """(lime explanation, segments) of one image; the seed of the segmentation and of the
        sampling comes from (seed, key)."""
        _, explanation, segments = self._fit(img, class_index, key, segments)
        return explanation, segments

    def mask_and_map(self, img, class_index, key=None):
        """(binary mask of the top positive superpixels, continuous map), float32 (H, W)."""
        from xai_mexculture.core import image_io
        explanation, segments = self.explanation(img, class_index, key)
        weights = dict(explanation.local_exp[int(class_index)])
        saliency = image_io.normalise(weights_map(weights, segments))
        positive = sorted((w, sp) for sp, w in weights.items() if w > 0)[::-1][:self.num_features]
        mask = np.isin(segments, [sp for _, sp in positive]).astype(np.float32)
        return mask, saliency

    stochastic = True

    def _explain(self, images, class_indices, keys):
        out = []
        for img, c, key in zip(images, class_indices, keys):
            lime, explanation, segments = self._fit(img, c, key)
            if constant(lime.neighbourhood[1][:, int(c)]):
                out.append(registry.Sampled(*[np.zeros(segments.shape)] * 3))
                continue
            saliency = weights_map(dict(explanation.local_exp[int(c)]), segments)
            out.append(registry.Sampled(saliency, *lime.halves(int(c), segments)))
        return out


def _explainer(model, seed, batch_size, num_samples, num_features=constants.LIME_NUM_FEATURES):
    return registry.shared(LIMEExplainer, model, seed=seed, batch_size=batch_size,
                             num_samples=num_samples, num_features=num_features)


def get_lime_explanation(model, img_array, class_index, num_samples=constants.LIME_NUM_SAMPLES,
                         seed=constants.SEED, batch_size=constants.BATCH_SIZE, segments=None, key=None):
    """Run LimeImageExplainer on one image; returns (explanation, segments)."""
    img = check_image(img_array)
    class_index = int(check_class_indices(model, [class_index], 1)[0])
    return _explainer(model, seed, batch_size, num_samples).explanation(img, class_index, key, segments)


def explain_with_lime(model, img_array, class_index, num_samples=constants.LIME_NUM_SAMPLES,
                      seed=constants.SEED, batch_size=constants.BATCH_SIZE,
                      num_features=constants.LIME_NUM_FEATURES, key=None):
    """(binary mask of the top positive superpixels, continuous saliency map), both float32 (H, W)."""
    img = check_image(img_array)
    class_index = int(check_class_indices(model, [class_index], 1)[0])
    return _explainer(model, seed, batch_size, num_samples, num_features).mask_and_map(img, class_index, key)
