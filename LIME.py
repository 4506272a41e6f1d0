"""LIME, Local Interpretable Model-agnostic Explanations (Ribeiro, Singh, Guestrin, "Why Should I
Trust You?": Explaining the Predictions of Any Classifier", KDD 2016), with the `lime` package.

The image is cut into quickshift superpixels (kernel_size=4, max_dist=200, ratio=0.2); LIME samples
num_samples on/off patterns of superpixels, scores them with the model in large batches, and fits a
weighted linear model. The continuous map gives each superpixel its weight for the class, negatives
clipped to 0, divided by the maximum; the binary mask keeps the top positive superpixels.
"""
import functools

import numpy as np

import constants
import utils
from cam_base import check_class_index, check_image


def segment(img_array, seed=constants.SEED, kernel_size=constants.LIME_KERNEL_SIZE,
            max_dist=constants.LIME_MAX_DIST, ratio=constants.LIME_RATIO) -> np.ndarray:
    """Quickshift superpixels of an RGB [0, 255] image: int (H, W) labels, deterministic."""
    from skimage.segmentation import quickshift
    image = np.asarray(img_array, np.float64) / 255.0
    return quickshift(image, kernel_size=kernel_size, max_dist=max_dist, ratio=ratio, rng=seed)


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
            image = np.asarray(image, np.float32)
            fudged = np.asarray(fudged_image, np.float32)
            if hasattr(classifier_fn, "score_patterns"):
                return data, classifier_fn.score_patterns(data, image, fudged, segments)
            labels = []
            for start in range(0, num_samples, batch_size):
                keep = data[start:start + batch_size][:, segments].astype(bool)[..., None]
                labels.append(classifier_fn(np.where(keep, image[None], fudged[None])))
            return data, np.concatenate(labels)
    return Batched


class _PatternScorer:
    """LIME's classifier_fn: plain batches of images, or (fast path) on/off patterns of superpixels
    turned into images inside one compiled call per batch."""

    def __init__(self, model, batch_size):
        self.model, self.batch_size = model, int(batch_size)

    def __call__(self, images):
        return utils.predict_batched(self.model, images, self.batch_size)

    def score_patterns(self, patterns, image, fudged, segments):
        import tensorflow as tf
        model = self.model

        def body(rows, image, fudged, segments):
            keep = tf.gather(tf.cast(rows, tf.bool), segments, axis=1)  # (b, H, W)
            return model(tf.where(keep[..., None], image[None], fudged[None]), training=False)
        fn = utils.compiled(model, "lime", body)
        patterns = np.asarray(patterns, np.int32)
        image, fudged = utils.to_tensor(image), utils.to_tensor(fudged)
        segments = utils.to_tensor(segments, "int32")
        out = [np.asarray(fn(patterns[idx], image, fudged, segments))[:real]
               for _, real, idx in utils.batches(len(patterns), self.batch_size)]
        return np.concatenate(out)


def BatchedLimeExplainer(**kwargs):
    """A lime_image.LimeImageExplainer with a vectorised, batched neighbourhood (see above)."""
    return _batched_explainer_class()(**kwargs)


def get_lime_explanation(model, img_array, class_index, num_samples=constants.LIME_NUM_SAMPLES,
                         seed=constants.SEED, batch_size=constants.BATCH_SIZE, segments=None):
    """Run LimeImageExplainer on one image; returns (explanation, segments)."""
    img = check_image(img_array)
    class_index = check_class_index(model, class_index)
    if segments is None:
        segments = segment(img, seed)
    explainer = BatchedLimeExplainer(random_state=seed)
    explanation = explainer.explain_instance(
        img.astype(np.float64), classifier_fn=_PatternScorer(model, batch_size),
        labels=(class_index,), top_labels=None, num_samples=int(num_samples),
        batch_size=int(batch_size), segmentation_fn=lambda _: segments,
        random_seed=seed)
    return explanation, segments


def explain_with_lime(model, img_array, class_index, num_samples=constants.LIME_NUM_SAMPLES,
                      seed=constants.SEED, batch_size=constants.BATCH_SIZE,
                      num_features=constants.LIME_NUM_FEATURES):
    """(binary mask of the top positive superpixels, continuous saliency map), both float32 (H, W)."""
    explanation, segments = get_lime_explanation(model, img_array, class_index, num_samples, seed,
                                                 batch_size)
    weights = dict(explanation.local_exp[int(class_index)])
    lookup = np.zeros(int(segments.max()) + 1, np.float64)
    for sp, weight in weights.items():
        lookup[sp] = weight
    saliency = utils.normalise(lookup[segments])
    positive = sorted((w, sp) for sp, w in weights.items() if w > 0)[::-1][:num_features]
    mask = np.isin(segments, [sp for _, sp in positive]).astype(np.float32)
    return mask, saliency
