"""The CAM family (Grad-CAM, FEM, ...): activations of a conv layer, and the gradients of the
pre-softmax class score with respect to them, for a batch of images in one compiled call; each
method then only says how it turns them into a coarse map (`coarse_maps`), which is upsampled to the
image and divided by its maximum.
"""
import cv2
import numpy as np

import backend
import explainers
import model_graph
import utils
from explainers import Param, check_class_indices, check_image  # noqa: F401  (re-exported)

LAYER = Param("layer_name", "layer", str, None,
              "conv layer used by the CAM methods (default: the last one; also inside a nested backbone)")


def upsample(coarse, shape, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """Resize a coarse (h, w) map to the image's (H, W): divide by the maximum, resize, clip to
    [0, 1] (bicubic overshoots) and divide by the maximum again so the peak is exactly 1."""
    big = cv2.resize(utils.normalise(coarse), (int(shape[1]), int(shape[0])), interpolation=interpolation)
    return utils.normalise(np.clip(big, 0.0, 1.0))


class CamExplainer(explainers.Explainer):
    """Base of the CAM methods. Subclasses implement `coarse_maps(activations, gradients)` on numpy
    arrays (N, h, w, C) -> (N, h, w); `needs_gradients = False` skips the backward pass."""
    params = (LAYER,)
    needs_gradients = True
    interpolation = cv2.INTER_LINEAR

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        if self.layer_name is None:
            self.layer_name = model_graph.get_last_layer_name(model, model_name)
        self._probe = model_graph.probe(model, self.layer_name)
        self._shape = model_graph.activation_shape(model, self.layer_name)
        self._fn = backend.Compiled(self._gradients_body if self.needs_gradients else self._features_body,
                                    model.variables, jit)

    def _features_body(self, images):
        return self._probe(images)[0]

    def _gradients_body(self, images, class_indices):
        from keras import ops

        def score(delta, images, class_indices):
            activations, logits = self._probe(images, delta)
            picked = ops.take_along_axis(logits, ops.expand_dims(class_indices, 1), axis=1)
            return ops.sum(picked), activations
        delta = ops.zeros((ops.shape(images)[0],) + self._shape, dtype=images.dtype)
        grads, activations = backend.grad(score)(delta, images, class_indices)
        return activations, grads

    def activations_and_gradients(self, images, class_indices):
        """Activations A (N, h, w, C) and, for gradient methods, d logit_c / dA (N, h, w, C), in
        compiled batches of batch_size images (gradients None otherwise)."""
        images = np.asarray(images, np.float32)
        if not self.needs_gradients:
            return backend.stack_batches(self._fn, len(images), self.batch_size,
                                         lambda idx: (backend.rows(images, idx),)), None
        classes = np.asarray(class_indices, np.int32)
        return backend.stack_batches(self._fn, len(classes), self.batch_size,
                                     lambda idx: (backend.rows(images, idx), classes[idx]))

    def coarse_maps(self, activations, gradients) -> np.ndarray:
        raise NotImplementedError

    def _explain(self, images, class_indices, keys):
        activations, gradients = self.activations_and_gradients(images, class_indices)
        coarse = self.coarse_maps(np.asarray(activations, np.float64),
                                  None if gradients is None else np.asarray(gradients, np.float64))
        return [upsample(c, images.shape[1:3], self.interpolation) for c in coarse]


class PerImage:
    """The seed's per-image calling convention, as a thin wrapper over a registered explainer:
    `Wrapper(model, model_name, img_array, class_index, ...).compute_saliency_map()`."""
    explainer_class = None

    def __init__(self, model, model_name, img_array, class_index, **params):
        self.model, self.model_name = model, model_name
        self.img_array = check_image(img_array)
        self.class_index = int(check_class_indices(model, [class_index], 1)[0])
        self.explainer = explainers.shared(self.explainer_class, model, model_name=model_name, **params)
        self.layer_name = getattr(self.explainer, "layer_name", None)

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1] (all zeros when nothing speaks for the class)."""
        return self.explainer.explain(self.img_array[None], [self.class_index])[0]
