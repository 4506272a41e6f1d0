"""Figures: nearly flat maps are not stretched, and every map panel has a colour bar."""
import numpy as np
import pytest
from matplotlib.figure import Figure

import figures


def test_a_nearly_flat_map_keeps_the_fixed_scale():
    flat = 0.94 + 0.05 * np.random.default_rng(0).random((8, 8))  # RISE-like: range < 0.1
    low, high, note = figures.display_range(flat)
    assert (low, high) == (0.0, 1.0) and "nearly flat" in note
    np.testing.assert_allclose(figures.stretch(flat), flat, rtol=1e-6)  # not stretched to [0, 1]
    ramp = np.linspace(0.3, 0.9, 64).reshape(8, 8)
    low, high, note = figures.display_range(ramp)
    assert (low, high) == pytest.approx((0.3, 0.9)) and "stretched" in note
    assert figures.stretch(ramp).min() == 0 and figures.stretch(ramp).max() == pytest.approx(1)


def test_every_map_panel_has_a_colour_bar(monkeypatch, tmp_path):
    captured = {}
    monkeypatch.setattr(figures, "grid_layout",
                        lambda panels, titles, *a, **k: captured.update(panels=panels, titles=titles))
    img = np.zeros((16, 16, 3), np.uint8)
    maps = {"A": np.linspace(0, 1, 256).reshape(16, 16), "B": np.full((16, 16), 0.97)}
    values = {m: {"Insertion": 0.5, "Deletion": 0.5} for m in maps}
    curves = {"Insertion": {m: np.linspace(0, 1, 5) for m in maps}, "Deletion": {m: np.linspace(1, 0, 5) for m in maps}}
    figures.save_image_figures("x.png", img, np.eye(16), maps, values, curves, "head", tmp_path)
    bars = []
    for panel, title in zip(captured["panels"], captured["titles"]):
        if not callable(panel):
            continue
        fig = Figure()
        ax = fig.add_subplot()
        panel(ax)
        bars.append((title, len(fig.axes) - 1))
    with_bar = [t for t, n in bars if n == 1]
    assert len(with_bar) == 2 * 4  # GFDM, saliency, heatmap, overlay of each method
    assert any("nearly flat" in t for t in captured["titles"])
