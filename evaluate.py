"""The seed's metric functions, importable under their seed names; their code lives in the
xai_mexculture package's metrics/: gaze.py (PCC, SIM, KLD, NSS, AUC-Judd), causal.py (insertion,
deletion, AUC), sauc.py, mufidelity.py, properties.py (sparseness), road.py."""
from xai_mexculture.metrics.causal import (  # noqa: F401
    CurveScorer, blur, calculate_auc, causal_curves, deletion, fill_image, insertion, pixel_order)
from xai_mexculture.metrics.gaze import (  # noqa: F401
    calculate_auc_judd, calculate_kld, calculate_nss, calculate_pcc, calculate_sim)
from xai_mexculture.metrics.mufidelity import calculate_mufidelity  # noqa: F401
from xai_mexculture.metrics.properties import calculate_sparseness  # noqa: F401
from xai_mexculture.metrics.road import road, road_curves  # noqa: F401
from xai_mexculture.metrics.sauc import calculate_sauc  # noqa: F401
