"""Properties of a map by itself: Sparseness (the Gini index) and Max-Sensitivity (how much it moves
under small input perturbations).
"""
import numpy as np

from xai_mexculture.metrics.registry import Metric, per_map, register


def calculate_sparseness(saliency) -> float:
    """Sparseness, the Gini index of the map (Chalasani, Chen, Chowdhury, Wu, Jha, "Concise
    Explanations of Neural Networks using Adversarial Training", ICML 2020): with |map| flattened and
    sorted ascending a_1 <= ... <= a_n, G = sum_i (2i - n - 1) a_i / (n sum_i a_i); 0 for an all-zero
    map, towards 1 for a map concentrated on one pixel. Higher is sparser."""
    a = np.sort(np.abs(np.asarray(saliency, np.float64)).ravel())
    n, total = a.size, a.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * a) / (n * total))


def _max_sensitivity(image, maps, n=10, radius=0.02 * 255):
    """Max-Sensitivity (Yeh et al., NeurIPS 2019): max over n seeded perturbations delta ~ U(-r, r)
    per pixel of ||map(x + delta) - map(x)|| / ||map(x)||, re-explained with the same seed."""
    rng = np.random.default_rng(image.seed)
    deltas = rng.uniform(-radius, radius, (n,) + image.img.shape).astype(np.float32)
    out = {}
    for method, sal in maps.items():
        norm = float(np.linalg.norm(sal))
        explainer = image.explainers[method]
        worst = 0.0
        for delta in deltas:
            other = explainer.explain((image.img + delta)[None], [image.class_index], [image.name])[0]
            worst = max(worst, float(np.linalg.norm(other - sal)) / norm if norm > 0 else 0.0)
        out[method] = worst
    return out


register(Metric("Sparseness", True, (), per_map(lambda im, s: calculate_sparseness(s)),
                description="Gini index of the map"))
register(Metric("MaxSensitivity", False, ("explainers",), _max_sensitivity,
                description="largest relative change of the map under 10 small input perturbations"))
