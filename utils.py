"""The seed's helpers, importable under their seed names; their code lives in the xai_mexculture
package: core/image_io.py (images, GFDMs, maps), core/model_io.py (loading a model, the batched
forward pass), core/data.py (MexCulture naming), core/model_graph.py (layer search),
render/figures.py (the seed's grid_layout)."""
from xai_mexculture.core.backend import batches, to_tensor  # noqa: F401
from xai_mexculture.core.data import class_index as get_image_index  # noqa: F401  (the seed's name)
from xai_mexculture.core.image_io import (  # noqa: F401
    extreme_samples, fit_image, is_flat, load_gfdm, load_image, minmax, normalise, read_rgb, resize_map,
    resize_matrix, save_png)
from xai_mexculture.core.model_graph import (  # noqa: F401
    features_and_logits_model, find_layer, get_last_layer_name, n_classes)
from xai_mexculture.core.model_io import class_scores, forward, load_model, predict_batched  # noqa: F401
from xai_mexculture.core.parsers import HelpFormatter  # noqa: F401


def grid_layout(*args, **kwargs):
    """The seed's figure grid (render/figures.py's grid_layout)."""
    from xai_mexculture.render import figures
    return figures.grid_layout(*args, **kwargs)
