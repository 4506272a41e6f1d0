"""The seed's heatmap pictures (render/representations.py in the xai_mexculture package)."""
from xai_mexculture.render.representations import represent_heatmap, represent_heatmap_overlaid  # noqa: F401
