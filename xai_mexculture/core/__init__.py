"""The bottom layer: arrays and images (image_io), models (model_io, model_graph, model_layers),
backends and compiled calls (backend), data set naming and gaze files (data, demo_gaze), statistics
(stats), safe files and locks (safe_io, runlock), the command lines' shared parser (parsers)."""
