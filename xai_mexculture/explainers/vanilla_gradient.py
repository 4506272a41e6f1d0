"""SALIENCY, the vanilla gradient (Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks:
Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014).

map = max over the colour channels of |d logit_c / d x|, with logit_c the pre-softmax score of the
class, divided by its maximum. All images of a call go through one batched backward pass.
"""
import numpy as np

from xai_mexculture.explainers import registry
from xai_mexculture.explainers.gradient_base import InputGradientExplainer


@registry.register
class SaliencyExplainer(InputGradientExplainer):
    name = "SALIENCY"
    description = "vanilla gradient (Simonyan et al. 2014)"

    def _explain(self, images, class_indices, keys):
        return np.abs(self.input_gradients(images, class_indices)).max(axis=-1)
