"""Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017).

alpha_k = spatial mean of d(logit_c)/dA_k, with logit_c the PRE-softmax score of class c and A the
last conv feature maps; map = ReLU(sum_k alpha_k A_k), upsampled (bilinear) to the image and divided
by its maximum. The ReLU comes after the channel aggregation, as in the paper. All images of a call
go through one batched forward and backward pass.
"""
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.cam_base import CamExplainer, PerImage


@registry.register(in_all=True)
class GradCAMExplainer(CamExplainer):
    """Grad-CAM for a batch of images; see the module docstring."""
    name = "GRADCAM"
    description = "Grad-CAM (Selvaraju et al. 2017)"

    @staticmethod
    def channel_weights(activations, gradients):
        """alpha_k: the gradients averaged over space, (N, C)."""
        from keras import ops
        return ops.mean(gradients, axis=(1, 2))

    def coarse_maps(self, activations, gradients):
        """ReLU(sum_k alpha_k A_k): (N, h, w)."""
        from keras import ops
        return ops.relu(ops.einsum("nhwc,nc->nhw", activations, self.channel_weights(activations, gradients)))


class GradCAM(PerImage):
    """Grad-CAM map of `class_index` for one image (the seed's API):
    `GradCAM(model, model_name, img_array, class_index, layer_name=None).compute_saliency_map()`."""
    explainer_class = GradCAMExplainer

    def __init__(self, model, model_name, img_array, class_index, layer_name=None):
        super().__init__(model, model_name, img_array, class_index, layer_name=layer_name)
