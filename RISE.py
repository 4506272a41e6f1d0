"""RISE (Petsiuk et al., BMVC 2018), the seed's API; the code is explainers/rise.py in the
xai_mexculture package.

    RISE(model, img_array, class_index, n_masks=4000, mask_size=7, threshold=0.5, seed=0)
        .compute_saliency_map() -> (H, W) map
"""
from xai_mexculture.explainers.rise import RISE, RISEExplainer  # noqa: F401
