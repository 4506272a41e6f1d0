"""SCORECAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu, "Score-CAM: Score-Weighted Visual
Explanations for Convolutional Neural Networks", CVPR workshops 2020).

Each channel A_k of the conv layer is upsampled bilinearly to the image and min-max scaled to [0, 1]
(a constant channel gives a zero mask); s_k = pre-softmax score of the class for image * mask_k;
w = softmax over k of s; map = ReLU(sum_k w_k A_k), upsampled bilinearly, divided by its maximum.
The masked images (one per channel: 2048 on ResNet50) are built and scored inside one compiled call
per batch of channels; when all the channels fit in one batch (a small network), the activations are
computed in that same call (one call per image instead of two).
"""
import cv2
import numpy as np

from xai_mexculture.core import backend
from xai_mexculture.core import image_io
from xai_mexculture.core import model_graph
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.cam_base import LAYER


@registry.register
class ScoreCAMExplainer(registry.Explainer):
    name = "SCORECAM"
    description = "Score-CAM (Wang et al. 2020)"
    params = (LAYER,)
    bench_target = "<= 1.15"

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        if self.layer_name is None:
            self.layer_name = model_graph.get_last_layer_name(model, model_name)
        probe = model_graph.probe(model, self.layer_name)
        self._shape = model_graph.activation_shape(model, self.layer_name)
        self._logits = model_graph.logits_fn(model)
        self._probe = probe
        self._activations = backend.Compiled(lambda x: probe(x)[0], model.variables, jit)
        self._scores = backend.Compiled(self._score_body, model.variables, jit)
        self._fused = backend.Compiled(self._fused_body, model.variables, jit)
        self._resize_cache = {}

    def evaluations_per_image(self):
        return self._shape[-1] + 1

    def _score_body(self, img, channels, ry, rx, y_ends, x_ends, class_index):
        """Pre-softmax score of the class for the image masked by each (upsampled, min-max scaled)
        channel. y_ends, x_ends: the rows and columns at image_io.extreme_samples of ry, rx, where each
        upsampled channel has its minimum and maximum (read from a grid of about 30 x 30 samples
        instead of two passes over H x W per channel)."""
        from keras import ops
        up = ops.matmul(ops.matmul(ry, channels), ops.transpose(rx))  # (b, H, W)
        ends = ops.take(ops.take(up, y_ends, axis=1), x_ends, axis=2)
        low = ops.min(ends, axis=(1, 2), keepdims=True)
        span = ops.max(ends, axis=(1, 2), keepdims=True) - low
        scale = ops.where(span > 0, 1.0 / ops.where(span > 0, span, 1.0), 0.0)  # (b, 1, 1): a constant channel gives 0
        masks = (up - low) * scale
        logits = self._logits(ops.expand_dims(img, 0) * ops.expand_dims(masks, -1))
        return ops.take(logits, class_index, axis=1)

    def _fused_body(self, img, ry, rx, y_ends, x_ends, class_index):
        """The activations of one image and the scores of all its masked images in one call (for a
        layer whose channels fit in one batch: a second call would cost more than the evaluations)."""
        from keras import ops
        acts = self._probe(ops.expand_dims(img, 0))[0][0]
        channels = ops.transpose(acts, (2, 0, 1))
        return acts, self._score_body(img, channels, ry, rx, y_ends, x_ends, class_index)

    def _resize(self, shape):
        """The upsampling matrices of the activations to an image of `shape` (numpy) and, sent to the
        device once per shape, them and the indices of their extreme samples (image_io.extreme_samples)."""
        if shape not in self._resize_cache:
            ry = image_io.resize_matrix(self._shape[0], shape[0], cv2.INTER_LINEAR)
            rx = image_io.resize_matrix(self._shape[1], shape[1], cv2.INTER_LINEAR)
            ends = [backend.to_tensor(image_io.extreme_samples(r), "int32") for r in (ry, rx)]
            self._resize_cache[shape] = ry, rx, [backend.to_tensor(ry), backend.to_tensor(rx)] + ends
        return self._resize_cache[shape]

    def _explain(self, images, class_indices, keys):
        c = self._shape[-1]
        ry, rx, resize = self._resize(images.shape[1:3])
        fused = c + 1 <= self.batch_size
        if not fused:
            activations = backend.stack_batches(self._activations, len(images), self.batch_size,
                                                lambda idx: (backend.rows(images, idx),))
        maps = []
        for i, (img, cls) in enumerate(zip(images, class_indices)):
            if fused:
                acts, scores = (backend.to_numpy(t) for t in self._fused(img, *resize, np.int32(cls)))
            else:
                acts = activations[i]
                channels = np.ascontiguousarray(np.moveaxis(acts, -1, 0))  # (C, h, w)
                img_t = backend.to_tensor(img)  # sent to the device once
                scores = backend.stack_batches(self._scores, c, self.batch_size,
                                               lambda idx: (img_t, channels[idx], *resize, np.int32(cls)))
            scores = scores.astype(np.float64)
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            cam = np.maximum(np.einsum("hwc,c->hw", acts.astype(np.float64), weights), 0.0)
            maps.append(ry.astype(np.float64) @ cam @ rx.T.astype(np.float64))
        return maps
