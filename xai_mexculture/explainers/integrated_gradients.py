"""INTEGRATED_GRADIENTS (Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks",
ICML 2017).

Black baseline x' = 0, m = 50 steps, right Riemann sum alpha_k = k / m for k = 1..m, gradients of the
softmax probability p_c of the class: attribution = (x - x') * mean_k grad p_c(x' + alpha_k (x - x'));
map = sum over the colour channels of |attribution|, divided by its maximum. The attributions sum to
about p_c(x) - p_c(x') (completeness; exact as m grows).
"""
import numpy as np

from xai_mexculture.explainers import registry
from xai_mexculture.explainers.gradient_base import InputGradientExplainer
from xai_mexculture.explainers.registry import Param, at_least


@registry.register
class IntegratedGradientsExplainer(InputGradientExplainer):
    name = "INTEGRATED_GRADIENTS"
    description = "Integrated Gradients, black baseline (Sundararajan et al. 2017)"
    score = "probability"
    params = (Param("steps", "ig_steps", int, 50, "INTEGRATED_GRADIENTS: steps m of the Riemann sum",
                    check=at_least(1)),)
    quick_params = {"steps": 8}

    def evaluations_per_image(self):
        return self.steps

    def attributions(self, img, class_index) -> np.ndarray:
        """(x - x') * mean_k grad p_c(x' + k/m (x - x')) with x' = 0: (H, W, 3) float64."""
        alphas = np.arange(1, self.steps + 1, dtype=np.float32) / self.steps
        path = alphas[:, None, None, None] * np.asarray(img, np.float32)[None]
        grads = self.input_gradients(path, class_index)
        return np.asarray(img, np.float64) * grads.mean(axis=0, dtype=np.float64)

    def _explain(self, images, class_indices, keys):
        return [np.abs(self.attributions(img, c)).sum(axis=-1) for img, c in zip(images, class_indices)]
