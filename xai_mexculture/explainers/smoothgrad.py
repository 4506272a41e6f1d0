"""SMOOTHGRAD (Smilkov, Thorat, Kim, Viegas, Wattenberg, "SmoothGrad: removing noise by adding
noise", ICML workshop 2017).

n = 50 noisy copies x + e_i of the image, e_i Gaussian with sigma = 0.15 x 255 per pixel and channel
(drawn on the host with numpy from (seed, image name), float32 standard normals times sigma; not
clipped); map = max over the colour channels
of |mean_i d logit_c / d x (x + e_i)| (the mean of the signed gradients, then the absolute value),
divided by its maximum.
"""
import numpy as np

from xai_mexculture.explainers import registry
from xai_mexculture.explainers.gradient_base import InputGradientExplainer
from xai_mexculture.explainers.registry import Param, at_least


@registry.register
class SmoothGradExplainer(InputGradientExplainer):
    name = "SMOOTHGRAD"
    description = "SmoothGrad (Smilkov et al. 2017)"
    params = (Param("n_samples", "smoothgrad_samples", int, 50, "SMOOTHGRAD: noisy copies", check=at_least(1)),
              Param("noise", "smoothgrad_noise", float, 0.15, "SMOOTHGRAD: noise sigma as a fraction of 255",
                    check=lambda v: None if v >= 0 else "must be >= 0"))
    quick_params = {"n_samples": 4}

    def evaluations_per_image(self):
        return self.n_samples

    stochastic = True

    def _explain(self, images, class_indices, keys):
        maps = []
        for img, cls, key in zip(images, class_indices, keys):
            noise = self.rng(key).standard_normal((self.n_samples,) + img.shape, dtype=np.float32)
            grads = self.input_gradients(img[None] + np.float32(self.noise * 255.0) * noise, cls)
            half = self.n_samples // 2  # the split-half maps: the first and the last samples
            maps.append(registry.Sampled(_map(grads), _map(grads[:half]), _map(grads[half:])))
        return maps


def _map(grads):
    """|mean gradient| over the samples, max over the colour channels (zeros for no sample)."""
    if not len(grads):
        return np.zeros(grads.shape[1:3])
    return np.abs(grads.mean(axis=0, dtype=np.float64)).max(axis=-1)
