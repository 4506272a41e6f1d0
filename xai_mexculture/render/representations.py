"""Pictures of saliency maps: a colour heatmap, and the heatmap blended over the image."""
import cv2
import numpy as np

import constants

_OPENCV_MAPS = {"jet": cv2.COLORMAP_JET, "hot": cv2.COLORMAP_HOT, "inferno": cv2.COLORMAP_INFERNO,
                "viridis": cv2.COLORMAP_VIRIDIS, "turbo": cv2.COLORMAP_TURBO}


def represent_heatmap(saliency, colormap=constants.COLORMAP) -> np.ndarray:
    """A map in [0, 1] as an RGB uint8 heatmap (H, W, 3). OpenCV colour maps are used by name
    (jet, hot, inferno, viridis, turbo); any other name is looked up in matplotlib."""
    sal = np.clip(np.nan_to_num(np.asarray(saliency, np.float32)), 0.0, 1.0)
    if colormap in _OPENCV_MAPS:
        bgr = cv2.applyColorMap(np.rint(sal * 255).astype(np.uint8), _OPENCV_MAPS[colormap])
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    import matplotlib
    rgba = matplotlib.colormaps[colormap](sal)
    return np.rint(rgba[..., :3] * 255).astype(np.uint8)


def represent_heatmap_overlaid(saliency, img_array, colormap=constants.COLORMAP,
                               alpha=constants.OVERLAY_ALPHA) -> np.ndarray:
    """The heatmap blended over the image: alpha * heatmap + (1 - alpha) * image, RGB uint8."""
    img = np.clip(np.asarray(img_array, np.float32), 0, 255)
    heat = represent_heatmap(cv2.resize(np.asarray(saliency, np.float32), (img.shape[1], img.shape[0])),
                             colormap).astype(np.float32)
    return np.rint(alpha * heat + (1.0 - alpha) * img).astype(np.uint8)
