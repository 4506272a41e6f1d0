"""FEM, the Feature Explanation Method (Fuad et al., IPTA 2020), the seed's API; the code is
explainers/fem.py in the xai_mexculture package.

    FEM(model, model_name, img_array, class_index, k=2.0).compute_saliency_map() -> (H, W) map
"""
from xai_mexculture.explainers.fem import FEM, FEMExplainer  # noqa: F401
