"""FEM, the Feature Explanation Method (Fuad, Martin, Giot, Bourqui, Benois-Pineau, Zemmari,
"Features Understanding in 3D CNNs for Actions Recognition in Video", IPTA 2020).

For each channel k of the last conv feature maps A: mu_k and sigma_k are its spatial mean and
population standard deviation; the binary map M_k = [A_k > mu_k + K sigma_k] keeps the strong, rare
features (K-sigma rule, K = 2); the map is sum_k mu_k M_k, divided by its maximum, upsampled to the
image (bicubic) and clipped to [0, 1]. FEM is class-agnostic: class_index is kept for the common
calling convention.
"""
import cv2
import numpy as np

import constants
from cam_base import CamExplainer, upsample


class FEM(CamExplainer):
    """FEM map of one image; see the module docstring."""

    def __init__(self, model, model_name, img_array, class_index, k=constants.FEM_K, layer_name=None):
        super().__init__(model, model_name, img_array, class_index, layer_name)
        self.k = float(k)

    @staticmethod
    def expand_flat_values_to_activation_shape(values, shape) -> np.ndarray:
        """Broadcast one value per channel (C,) to the activation shape (h, w, C)."""
        return np.broadcast_to(np.asarray(values)[None, None, :], shape)

    def compute_binary_maps(self, activations) -> np.ndarray:
        """M_k = [A_k > mu_k + K sigma_k] per channel: (h, w, C) of 0/1."""
        a = np.asarray(activations, np.float64)
        mean, std = a.mean(axis=(0, 1)), a.std(axis=(0, 1))
        threshold = self.expand_flat_values_to_activation_shape(mean + self.k * std, a.shape)
        return (a > threshold).astype(np.float64)

    def aggregate_binary_maps(self, binary_maps, activations) -> np.ndarray:
        """sum_k mu_k M_k with mu_k the channel's spatial mean, divided by the maximum: (h, w)."""
        a = np.asarray(activations, np.float64)
        weights = self.expand_flat_values_to_activation_shape(a.mean(axis=(0, 1)), a.shape)
        fem = (binary_maps * weights).sum(axis=-1)
        peak = fem.max()
        return fem / peak if peak > 0 else fem

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1] (all zeros when no channel has a rare strong feature)."""
        activations = self.activations()
        fem = self.aggregate_binary_maps(self.compute_binary_maps(activations), activations)
        return upsample(fem, self.img_array.shape[:2], cv2.INTER_CUBIC)
