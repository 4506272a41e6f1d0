"""Custom layers saved inside models, registered so `.keras` files load anywhere.

Preprocessing lives inside the model: every explainer and metric then perturbs raw RGB pixels in
[0, 255] and the model takes care of what its backbone expects.
"""
import keras
from keras import ops

# ImageNet channel means of the Caffe-style ResNet preprocessing, in BGR order.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="xai_mexculture")
class ResNetPreprocess(keras.layers.Layer):
    """keras.applications.resnet.preprocess_input as a layer: RGB -> BGR, minus ImageNet means."""

    def call(self, inputs):
        bgr = ops.flip(ops.cast(inputs, "float32"), axis=-1)
        return bgr - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype="float32")

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="xai_mexculture")
class ZeroMean(keras.constraints.Constraint):
    """Kernel constraint of a convolution: every filter sums to zero over its window, per input
    channel, so a flat region responds the same whatever its colour (black included)."""

    def __call__(self, w):
        return w - ops.mean(w, axis=(0, 1), keepdims=True)
