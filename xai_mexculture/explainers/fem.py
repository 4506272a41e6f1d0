"""FEM, the Feature Explanation Method (Fuad, Martin, Giot, Bourqui, Benois-Pineau, Zemmari,
"Features Understanding in 3D CNNs for Actions Recognition in Video", IPTA 2020).

For each channel k of the last conv feature maps A: mu_k and sigma_k are its spatial mean and
population standard deviation; the binary map M_k = [A_k > mu_k + K sigma_k] keeps the strong, rare
features (K-sigma rule, K = 2); the map is sum_k mu_k M_k, divided by its maximum, upsampled to the
image (bicubic, as in the paper's code) and clipped to [0, 1]. FEM is class-agnostic: the class
indices are checked and otherwise unused. No backward pass is needed.
"""
import math

import cv2

import constants

from xai_mexculture.explainers import registry
from xai_mexculture.explainers.cam_base import LAYER, CamExplainer, PerImage
from xai_mexculture.explainers.registry import Param


@registry.register(in_all=True)
class FEMExplainer(CamExplainer):
    """FEM for a batch of images; see the module docstring."""
    name = "FEM"
    description = "FEM, K-sigma rule (Fuad et al. 2020)"
    params = (LAYER, Param("k", "fem_k", float, constants.FEM_K, "FEM: K of the K-sigma rule (> 0)",
                           check=lambda v: None if math.isfinite(v) and v > 0 else
                           "must be a finite number > 0 (K of the K-sigma rule)"))
    needs_gradients = False
    interpolation = cv2.INTER_CUBIC

    def binary_maps(self, activations):
        """M_k = [A_k > mu_k + K sigma_k] per image and channel: (N, h, w, C) of 0/1."""
        from keras import ops
        mean = ops.mean(activations, axis=(1, 2), keepdims=True)
        std = ops.std(activations, axis=(1, 2), keepdims=True)
        return ops.cast(activations > mean + self.k * std, activations.dtype)

    def coarse_maps(self, activations, gradients=None):
        """sum_k mu_k M_k with mu_k the channel's spatial mean: (N, h, w)."""
        from keras import ops
        return ops.einsum("nhwc,nc->nhw", self.binary_maps(activations), ops.mean(activations, axis=(1, 2)))


class FEM(PerImage):
    """FEM map of one image (the seed's API):
    `FEM(model, model_name, img_array, class_index, k=2.0, layer_name=None).compute_saliency_map()`."""
    explainer_class = FEMExplainer

    def __init__(self, model, model_name, img_array, class_index, k=constants.FEM_K, layer_name=None):
        super().__init__(model, model_name, img_array, class_index, k=float(k), layer_name=layer_name)
        self.k = float(k)
