"""OCCLUSION, the sliding window (Zeiler, Fergus, "Visualizing and Understanding Convolutional
Networks", ECCV 2014; the baseline of the RISE paper).

A window of 32 x 32 pixels filled with 0 slides with stride 8 over positions 0, 8, 16, ... plus the
last position flush with the edge, so that every pixel is covered; map(pixel) = mean over the windows
covering it of p_c(x) - p_c(x occluded) (softmax probability of the class), negatives set to 0,
divided by the maximum. The occluded images are built inside the compiled call from the window
positions.
"""
import numpy as np

from xai_mexculture.core import backend
from xai_mexculture.core import model_io
from xai_mexculture.explainers import registry
from xai_mexculture.explainers.registry import Param, at_least


def positions(size, window, stride) -> np.ndarray:
    """Window starts 0, stride, 2 stride, ... and the last one flush with the edge."""
    window = min(window, size)
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return np.asarray(starts, np.int32)


@registry.register
class OcclusionExplainer(registry.Explainer):
    name = "OCCLUSION"
    description = "sliding-window occlusion (Zeiler and Fergus 2014)"
    params = (Param("window", "occlusion_window", int, 32, "OCCLUSION: window side (pixels)", check=at_least(1)),
              Param("stride", "occlusion_stride", int, 8, "OCCLUSION: stride (pixels)", check=at_least(1)))
    quick_params = {"window": 8, "stride": 4}
    bench_target = "<= 1.15"

    def __init__(self, model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params):
        super().__init__(model, model_name, batch_size, seed, jit, **params)
        self._fn = backend.Compiled(self._body, model.variables, jit)

    def evaluations_per_image(self, shape=None):
        h, w = shape or tuple(self.model.inputs[0].shape[1:3])
        return len(positions(h, self.window, self.stride)) * len(positions(w, self.window, self.stride)) + 1

    def _body(self, img, ys, xs, class_index):
        from keras import ops
        h, w = ops.shape(img)[0], ops.shape(img)[1]
        win_h, win_w = min(self.window, h), min(self.window, w)
        rows = ops.expand_dims(ops.arange(h, dtype="int32"), 0)
        cols = ops.expand_dims(ops.arange(w, dtype="int32"), 0)
        in_y = (rows >= ys[:, None]) & (rows < ys[:, None] + win_h)  # (b, H)
        in_x = (cols >= xs[:, None]) & (cols < xs[:, None] + win_w)  # (b, W)
        hidden = ops.expand_dims(in_y, 2) & ops.expand_dims(in_x, 1)
        images = ops.where(ops.expand_dims(hidden, -1), 0.0, ops.expand_dims(img, 0))
        return ops.take(self.model(images, training=False), class_index, axis=1)

    def _explain(self, images, class_indices, keys):
        h, w = images.shape[1:3]
        win_h, win_w = min(self.window, h), min(self.window, w)
        ys, xs = positions(h, self.window, self.stride), positions(w, self.window, self.stride)
        grid_y, grid_x = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
        full = model_io.predict_batched(self.model, images, self.batch_size, self.jit)
        maps = []
        for img, cls, p_full in zip(images, class_indices, full[np.arange(len(images)), class_indices]):
            img_t = backend.to_tensor(img)  # sent to the device once
            scores = backend.stack_batches(self._fn, len(grid_y), self.batch_size,
                                           lambda idx: (img_t, grid_y[idx], grid_x[idx], np.int32(cls)))
            total, count = np.zeros((h, w)), np.zeros((h, w))
            for y, x, s in zip(grid_y, grid_x, scores.astype(np.float64)):
                total[y:y + win_h, x:x + win_w] += p_full - s
                count[y:y + win_h, x:x + win_w] += 1
            maps.append(total / count)
        return maps
