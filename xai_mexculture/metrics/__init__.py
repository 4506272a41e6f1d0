"""Metrics of saliency maps: the registry (registry.py), then one module per family, each declaring
the metrics it computes. Importing this package registers them in the order of the results' columns:
gaze (PCC, SIM, KLD, NSS, AUC_Judd), causal (Insertion, Deletion), sAUC, MuFidelity, the map's
properties (Sparseness, MaxSensitivity), ROAD (opt-in) and the scanpath columns. The reference maps
(references.py) and the model-randomisation sanity check (sanity.py) live here too.

    from xai_mexculture import metrics
    metrics.names()                          # the results columns
"""
from xai_mexculture.metrics.registry import (  # noqa: F401  (the package's interface)
    FAMILIES, MIN_SCANPATHS, NEEDS, ImageData, Metric, all_metrics, at_gfdm, evaluate_image, get, is_host,
    lower_is_better, names, needing, per_map, register, unregister)
from xai_mexculture.metrics import gaze, causal, sauc, mufidelity, properties, road  # noqa: F401,E402
from xai_mexculture.metrics import scanpaths  # noqa: F401,E402  (the like-for-like columns, last)
