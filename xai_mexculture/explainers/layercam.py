"""LAYERCAM (Jiang, Zhang, Hou, Cheng, Wei, "LayerCAM: Exploring Hierarchical Class Activation Maps
for Localization", IEEE TIP 2021): every position weighted by its own positive gradient,

    map = ReLU(sum_k ReLU(g_k) * A_k),  g = d logit_c / dA (pre-softmax score),
upsampled bilinearly and divided by its maximum.
"""
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.cam_base import CamExplainer


@registry.register
class LayerCAMExplainer(CamExplainer):
    name = "LAYERCAM"
    description = "LayerCAM (Jiang et al. 2021)"

    def coarse_maps(self, activations, gradients):
        from keras import ops
        return ops.relu(ops.sum(ops.relu(gradients) * activations, axis=-1))
