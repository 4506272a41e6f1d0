"""The CAM family (Grad-CAM, FEM, ...): activations of a conv layer and the gradients of the
pre-softmax class score with respect to them, for a batch of images, in one compiled call that also
turns them into maps: each method only says how it makes a coarse map from them (`coarse_maps`, in
keras.ops); the base class divides it by its maximum, upsamples it to the image (a product with
interpolation matrices made by OpenCV, so the resize has OpenCV's semantics on every backend),
clips it to [0, 1] and divides it by its maximum again. Only the (N, H, W) maps leave the call.
"""
import cv2
import numpy as np

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.core import model_graph
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.registry import Param, check_class_indices, check_image

LAYER = Param("layer_name", "layer", str, None,
              "conv layer used by the CAM methods, also inside a nested backbone (default: the last "
              "layer with a 4-D output, or the known one of --model_name)")


def normalise_maps(maps):
    """keras.ops: each map (N, a, b) with negatives set to 0, divided by its maximum (zeros stay)."""
    from keras import ops
    maps = ops.relu(maps)
    peak = ops.max(maps, axis=(1, 2), keepdims=True)
    return ops.where(peak > 0, maps / ops.where(peak > 0, peak, 1.0), 0.0)


class CamExplainer(registry.Explainer):
    """Base of the CAM methods. Subclasses implement `coarse_maps(activations, gradients)` in
    keras.ops: (N, h, w, C) tensors -> (N, h, w); `needs_gradients = False` skips the backward pass."""
    params = (LAYER,)
    bench_target = "< 2"
    needs_gradients = True
    interpolation = cv2.INTER_LINEAR

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        if self.layer_name is None:
            self.layer_name = model_graph.get_last_layer_name(model, model_name)
        self._probe = model_graph.probe(model, self.layer_name)
        self._shape = model_graph.activation_shape(model, self.layer_name)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def activations_and_gradients(self, images, class_indices):
        """keras.ops: activations A (n, h, w, C) and d logit_c / dA (None without gradients)."""
        from keras import ops
        if not self.needs_gradients:
            return self._probe(images)[0], None

        def score(delta, images, class_indices):
            activations, logits = self._probe(images, delta)
            picked = ops.take_along_axis(logits, ops.expand_dims(class_indices, 1), axis=1)
            return ops.sum(picked), activations
        delta = ops.zeros((ops.shape(images)[0],) + self._shape, dtype=images.dtype)
        grads, activations = backend.grad(score)(delta, images, class_indices)
        return activations, grads

    def coarse_maps(self, activations, gradients):
        raise NotImplementedError

    def _body(self, images, class_indices, ry, rx):
        from keras import ops
        activations, gradients = self.activations_and_gradients(images, class_indices)
        coarse = normalise_maps(self.coarse_maps(activations, gradients))
        up = ops.einsum("Hh,nhw,Ww->nHW", ry, coarse, rx)
        return normalise_maps(ops.clip(up, 0.0, 1.0))

    def _explain(self, images, class_indices, keys):
        h, w = self._shape[:2]
        ry = image_io.resize_matrix(h, images.shape[1], self.interpolation)
        rx = image_io.resize_matrix(w, images.shape[2], self.interpolation)
        return backend.stack_batches(self._fn, len(images), self.batch_size,
                                     lambda idx: (backend.rows(images, idx), class_indices[idx], ry, rx))


class PerImage:
    """The seed's per-image calling convention, as a thin wrapper over a registered explainer:
    `Wrapper(model, model_name, img_array, class_index, ...).compute_saliency_map()`."""
    explainer_class = None

    def __init__(self, model, model_name, img_array, class_index, **params):
        self.model, self.model_name = model, model_name
        self.img_array = check_image(img_array)
        self.class_index = int(check_class_indices(model, [class_index], 1)[0])
        self.explainer = registry.shared(self.explainer_class, model, model_name=model_name, **params)
        self.layer_name = getattr(self.explainer, "layer_name", None)

    def compute_saliency_map(self) -> np.ndarray:
        """float32 (H, W) map in [0, 1] (all zeros when nothing speaks for the class)."""
        return self.explainer.explain(self.img_array[None], [self.class_index])[0]
