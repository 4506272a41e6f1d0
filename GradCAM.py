"""Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017).

alpha_k = spatial mean of d(logit_c)/dA_k, with logit_c the PRE-softmax score of class c and A the
last conv feature maps; map = ReLU(sum_k alpha_k A_k), upsampled (bilinear) to the image and divided
by its maximum. The ReLU comes after the channel aggregation, as in the paper.
"""
import numpy as np

import utils
from cam_base import CamExplainer, upsample


def _gradients_body(grad_model):
    import tensorflow as tf

    def gradients(images, class_index):
        with tf.GradientTape() as tape:
            activations, logits = grad_model(images, training=False)
            score = tf.gather(logits, class_index, axis=1)
        return activations, tape.gradient(score, activations)
    return gradients


class GradCAM(CamExplainer):
    """Grad-CAM map of `class_index` for one image; see the module docstring."""

    def compute_gradients(self, grad_model, class_index):
        """Activations A (h, w, C) and gradients d(logit_class)/dA (h, w, C) for the image."""
        fn = utils.compiled(grad_model, "gradients", _gradients_body(grad_model), jit=False)
        activations, grads = fn(self.img_array[None], np.int32(class_index))
        return np.asarray(activations)[0], np.asarray(grads)[0]

    @staticmethod
    def pool_gradients(grads) -> np.ndarray:
        """Global average pooling of the gradients over space: one weight alpha_k per channel."""
        return np.asarray(grads).mean(axis=(0, 1))

    @staticmethod
    def weight_activation_map(activations, pooled) -> np.ndarray:
        """Each activation map A_k multiplied by its weight alpha_k: (h, w, C)."""
        return np.asarray(activations) * np.asarray(pooled)[None, None, :]

    @staticmethod
    def apply_dimension_average_pooling(weighted) -> np.ndarray:
        """Aggregate the weighted maps over channels (the sum of the paper): (h, w)."""
        return np.asarray(weighted).sum(axis=-1)

    @staticmethod
    def apply_relu(cam) -> np.ndarray:
        """Keep only positive evidence for the class."""
        return np.maximum(cam, 0.0)

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1] (all zeros when nothing speaks for the class)."""
        activations, grads = self.compute_gradients(self.get_model(), self.class_index)
        cam = self.apply_relu(self.apply_dimension_average_pooling(
            self.weight_activation_map(activations, self.pool_gradients(grads))))
        return upsample(cam, self.img_array.shape[:2])
