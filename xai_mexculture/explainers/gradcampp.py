"""GRADCAMPP, Grad-CAM++ (Chattopadhyay, Sarkar, Howlader, Balasubramanian, "Grad-CAM++: Generalized
Gradient-Based Visual Explanations for Deep Convolutional Networks", WACV 2018), in the closed form
with the first-order gradients g = d logit_c / dA of the pre-softmax score:

    a = g^2 / (2 g^2 + sum_ij(A_k) g^3)   (0 where g = 0),   w_k = sum_ij a ReLU(g),
    map = ReLU(sum_k w_k A_k), upsampled bilinearly and divided by its maximum.
"""
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.cam_base import CamExplainer


@registry.register
class GradCAMPPExplainer(CamExplainer):
    name = "GRADCAMPP"
    description = "Grad-CAM++ (Chattopadhyay et al. 2018)"

    def coarse_maps(self, activations, gradients):
        from keras import ops
        g2 = gradients * gradients
        denominator = 2.0 * g2 + ops.sum(activations, axis=(1, 2), keepdims=True) * g2 * gradients
        usable = (gradients != 0) & (denominator != 0)
        alpha = ops.where(usable, g2 / ops.where(usable, denominator, 1.0), 0.0)
        weights = ops.sum(alpha * ops.relu(gradients), axis=(1, 2))
        return ops.relu(ops.einsum("nhwc,nc->nhw", activations, weights))
