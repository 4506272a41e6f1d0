"""Shared machinery of the activation-based explainers (Grad-CAM, FEM): input checks, the
features-and-logits model of the last conv layer, and upsampling of the coarse map."""
import cv2
import numpy as np

import utils


def check_image(img_array) -> np.ndarray:
    """The image as float32 (H, W, 3); a clear error for anything else."""
    img = np.asarray(img_array, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"img_array must have shape (H, W, 3), got {img.shape}")
    if not np.all(np.isfinite(img)):
        raise ValueError("img_array holds NaN or inf")
    return img


def check_class_index(model, class_index) -> int:
    n_classes = int(model.outputs[0].shape[-1])
    index = int(class_index)
    if not 0 <= index < n_classes:
        raise ValueError(f"class_index {class_index} out of range for a model with {n_classes} classes")
    return index


def upsample(coarse, shape, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """Resize a coarse (h, w) map to the image's (H, W): divide by the maximum, resize, clip to
    [0, 1] (bicubic overshoots) and divide by the maximum again so the peak is exactly 1."""
    big = cv2.resize(utils.normalise(coarse), (int(shape[1]), int(shape[0])),
                     interpolation=interpolation)
    return utils.normalise(np.clip(big, 0.0, 1.0))


class CamExplainer:
    """Base of Grad-CAM and FEM: holds the model, the image, the class and the conv layer."""

    def __init__(self, model, model_name, img_array, class_index, layer_name=None):
        self.model = model
        self.model_name = model_name
        self.img_array = check_image(img_array)
        self.class_index = check_class_index(model, class_index)
        self.layer_name = layer_name or utils.get_last_layer_name(model, model_name)

    def get_model(self):
        """Model image -> [activations of the last conv layer, pre-softmax class scores]."""
        return utils.features_and_logits_model(self.model, self.layer_name)

    def activations(self) -> np.ndarray:
        """Activations A of the last conv layer for the image: (h, w, channels)."""
        features = self.get_model()
        fn = utils.compiled(features, "features", lambda x: features(x, training=False)[0], jit=False)
        return np.asarray(fn(self.img_array[None]))[0]
