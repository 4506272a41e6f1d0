"""Saliency methods: the registry and interface (registry.py), the CAM and gradient families
(cam_base.py, gradient_base.py) and one module per method. Importing this package registers the
built-in methods, in table order: the seed's four (ALL), then the peers' seven (EVERY adds them).

    from xai_mexculture import explainers
    explainers.names()                      # GRADCAM, FEM, RISE, LIME, SALIENCY, ...
    maps = explainers.get("RISE")(model, seed=0).explain(images, class_indices, keys=names)
"""
from xai_mexculture.explainers.registry import (  # noqa: F401  (the package's interface)
    ROOT, Explainer, Param, Sampled, all_params, at_least, build, check_class_indices, check_image, check_images,
    default_names, discover, get, in_range, names, parse_methods, register, seed_for, shared, split_half_reliability,
    unregister)
from xai_mexculture.explainers import gradcam, fem, rise, lime_method  # noqa: F401,E402  (the seed's four)
from xai_mexculture.explainers import (  # noqa: F401,E402  (the peers' seven)
    vanilla_gradient, integrated_gradients, smoothgrad, gradcampp, layercam, scorecam, occlusion)
