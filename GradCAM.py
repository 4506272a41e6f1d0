"""Grad-CAM (Selvaraju et al., ICCV 2017), the seed's API; the code is explainers/gradcam.py in the
xai_mexculture package.

    GradCAM(model, model_name, img_array, class_index).compute_saliency_map() -> (H, W) map
"""
from xai_mexculture.explainers.gradcam import GradCAM, GradCAMExplainer  # noqa: F401
