"""Reference rows: the CENTER and RANDOM maps, scanpath parsing, the leave-one-out and split-half
human ceiling, and duration-weighted GFDMs."""
import math

import cv2
import numpy as np
import pytest

from xai_mexculture.metrics import references


def test_center_map_hand_computed_and_round_on_a_non_square_map():
    m = references.center_map((5, 9))
    sigma = 0.25 * 5
    assert m[2, 4] == 1.0
    assert m[0, 0] == pytest.approx(math.exp(-(2 ** 2 + 4 ** 2) / (2 * sigma ** 2)), rel=1e-6)
    assert m[0, 4] == pytest.approx(m[2, 2]) and m[0, 4] == pytest.approx(m[2, 6])  # isotropic
    wide = references.center_map((100, 300), sigma_fraction=0.1)
    # centre (49.5, 149.5): the maximum sits half a pixel off in x and y, exp(-0.5 / 200)
    assert wide[50, 160] == pytest.approx(math.exp(-(10.5 ** 2 + 0.5 ** 2 - 0.5) / (2 * 10 ** 2)), rel=1e-6)


def test_random_map_is_a_seeded_smooth_upsampled_grid():
    cells = np.random.default_rng(3).random((7, 7)).astype(np.float32)
    np.testing.assert_allclose(references.random_map((7, 7), seed=3), cells / cells.max(), rtol=1e-6)
    big = references.random_map((140, 70), seed=3)
    expected = cv2.resize(cells, (70, 140), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(big, expected / expected.max(), rtol=1e-6)
    assert np.abs(np.diff(big, axis=0)).max() < 0.1  # smooth, not pixel noise
    assert not np.allclose(big, references.random_map((140, 70), seed=4))


def test_reference_maps_are_built_at_each_size():
    maps, native = references.maps(["CENTER", "RANDOM"], (224, 224), seed=1)
    at_gfdm = native[id(maps["CENTER"])]((60, 120))
    np.testing.assert_allclose(at_gfdm, references.center_map((60, 120)))
    np.testing.assert_allclose(native[id(maps["RANDOM"])]((30, 30)), references.random_map((30, 30), 1))
    assert references.parse("center, random,CENTER") == ["CENTER", "RANDOM"] and references.parse("none") == []
    with pytest.raises(ValueError, match="unknown reference map 'MIDDLE'"):
        references.parse("MIDDLE")
