"""The input-gradient family (SALIENCY, INTEGRATED_GRADIENTS, SMOOTHGRAD): d score_c / d x for a
stack of images in compiled batches, the score being the pre-softmax logit or the softmax
probability of each image's class. Each method only says which images it differentiates and how
it reduces the gradients to a map."""
import numpy as np

from xai_mexculture.core import backend
from xai_mexculture.core import model_graph
from xai_mexculture.explainers import registry


class InputGradientExplainer(registry.Explainer):
    """Base class; `score` = "logit" (pre-softmax) or "probability" (softmax)."""
    score = "logit"

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        self._logits = model_graph.logits_fn(model)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def _body(self, images, class_indices):
        from keras import ops

        def score(x, class_indices):
            out = self._logits(x)
            if self.score == "probability":
                out = ops.softmax(out, axis=-1)
            return ops.sum(ops.take_along_axis(out, ops.expand_dims(class_indices, 1), axis=1)), out
        grads, _ = backend.grad(score)(images, class_indices)
        return grads

    def input_gradients(self, images, class_indices) -> np.ndarray:
        """d score / d x for each image (N, H, W, 3), float32."""
        images = np.asarray(images, np.float32)
        classes = np.broadcast_to(np.asarray(class_indices, np.int32), (len(images),))
        return backend.stack_batches(self._fn, len(images), self.batch_size,
                                     lambda idx: (backend.rows(images, idx), np.ascontiguousarray(classes[idx])))
