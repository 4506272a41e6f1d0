"""LIME (Ribeiro et al., KDD 2016) on quickshift superpixels, the seed's API; the code is
explainers/lime_method.py in the xai_mexculture package.

    explain_with_lime(model, img_array, class_index, num_samples=1000, seed=0) -> (mask, map)
"""
from xai_mexculture.explainers.lime_method import (  # noqa: F401
    LIMEExplainer, explain_with_lime, get_lime_explanation, segment)
