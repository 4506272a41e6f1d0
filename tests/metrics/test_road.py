"""ROAD (Rong et al., ICML 2022): the noisy linear imputation on hand-made cases, the removal order
and its tie-breaking, determinism, a known-answer model, and --road on the command line."""
import csv
import json

import numpy as np
import pytest
from conftest import patch_model

from xai_mexculture.metrics import road

D, C = 1 / 6, 1 / 12  # weights of direct and diagonal neighbours


def _impute(img, removed):
    return road.impute(img, removed, noise_std=0)


def _mask(shape, *pixels):
    m = np.zeros(shape, bool)
    for r, c in pixels:
        m[r, c] = True
    return m


@pytest.fixture()
def rand_img():
    return np.random.default_rng(5).uniform(0, 255, (6, 7, 3)).astype(np.float32)


# --------------------------------------------------------------------------- the imputation
def test_one_interior_pixel_is_the_weighted_mean_of_its_8_neighbours(rand_img):
    v = rand_img.astype(np.float64)
    expected = (D * (v[1, 3] + v[3, 3] + v[2, 2] + v[2, 4]) + C * (v[1, 2] + v[1, 4] + v[3, 2] + v[3, 4]))
    out = _impute(rand_img, _mask((6, 7), (2, 3)))
    np.testing.assert_allclose(out[2, 3], expected, rtol=1e-6)
    kept = ~_mask((6, 7), (2, 3))
    np.testing.assert_array_equal(out[kept], rand_img[kept])


def test_border_pixels_use_their_existing_neighbours_renormalised(rand_img):
    v = rand_img.astype(np.float64)
    corner = (D * (v[0, 1] + v[1, 0]) + C * v[1, 1]) / (2 * D + C)                      # 3 neighbours, 5/12
    edge = (D * (v[0, 2] + v[0, 4] + v[1, 3]) + C * (v[1, 2] + v[1, 4])) / (3 * D + 2 * C)  # 5 neighbours, 2/3
    far = (D * (v[5, 5] + v[4, 6]) + C * v[4, 5]) / (2 * D + C)                           # the opposite corner
    out = _impute(rand_img, _mask((6, 7), (0, 0), (0, 3), (5, 6)))
    np.testing.assert_allclose(out[0, 0], corner, rtol=1e-6)
    np.testing.assert_allclose(out[0, 3], edge, rtol=1e-6)
    np.testing.assert_allclose(out[5, 6], far, rtol=1e-6)


def test_two_adjacent_pixels_are_solved_together(rand_img):
    v = rand_img.astype(np.float64)
    # (2, 2) and (2, 3) are direct neighbours: x1 = s1 + x2 / 6 and x2 = s2 + x1 / 6, s the known part
    s1 = D * (v[1, 2] + v[3, 2] + v[2, 1]) + C * (v[1, 1] + v[1, 3] + v[3, 1] + v[3, 3])
    s2 = D * (v[1, 3] + v[3, 3] + v[2, 4]) + C * (v[1, 2] + v[1, 4] + v[3, 2] + v[3, 4])
    x1 = (s1 + s2 * D) / (1 - D * D)
    x2 = (s2 + s1 * D) / (1 - D * D)
    out = _impute(rand_img, _mask((6, 7), (2, 2), (2, 3)))
    np.testing.assert_allclose(out[2, 2], x1, rtol=1e-6)
    np.testing.assert_allclose(out[2, 3], x2, rtol=1e-6)


def test_a_constant_image_stays_constant_whatever_is_removed():
    # renormalised border weights keep a constant exact (border neighbours counted as 0 would not)
    img = np.full((20, 24, 3), [40.0, 120.0, 200.0], np.float32)
    removed = np.random.default_rng(1).random((20, 24)) < 0.85
    removed[0, 0] = removed[-1, -1] = removed[0, 5] = True
    np.testing.assert_allclose(_impute(img, removed), img, atol=1e-3)


def test_a_linear_ramp_is_reproduced_inside_the_image():
    rows, cols = np.mgrid[0:20, 0:24].astype(np.float64)
    img = np.stack([3 * rows + 5 * cols, 200 - 4 * rows + 2 * cols, 7 * rows + 20], -1).astype(np.float32)
    removed = np.zeros((20, 24), bool)
    removed[4:15, 3:20] = True  # a block away from the border
    removed[2, 2] = removed[17, 21] = True
    np.testing.assert_allclose(_impute(img, removed), img, atol=1e-3)
    edge = np.zeros((20, 24), bool)
    edge[:, 0] = True  # at the border the neighbours are one-sided: the ramp is not extrapolated
    assert np.abs(_impute(img, edge)[:, 0] - img[:, 0]).max() > 1


def test_the_system_matches_a_plain_loop():
    rng = np.random.default_rng(2)
    h, w = 21, 19  # larger than a dissection leaf (8 x 8)
    img = rng.uniform(0, 255, (h, w, 3))
    removed = rng.random((h, w)) < 0.5
    a, b, pixels = road.linear_system(img, removed)
    index = {int(p): i for i, p in enumerate(pixels)}
    dense, rhs = np.zeros((len(pixels), len(pixels))), np.zeros((len(pixels), 3))
    for p, i in index.items():
        r, c = divmod(p, w)
        for dr, dc, weight in road.NEIGHBOURS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w:
                dense[i, i] += weight
                if removed[rr, cc]:
                    dense[i, index[rr * w + cc]] -= weight
                else:
                    rhs[i] += weight * img[rr, cc]
    np.testing.assert_allclose(a.toarray(), dense, atol=1e-12)
    np.testing.assert_allclose(a.toarray(), a.toarray().T, atol=1e-12)
    np.testing.assert_allclose(b, rhs, atol=1e-9)
    assert sorted(pixels) == list(np.flatnonzero(removed))
    np.testing.assert_array_equal(np.sort(road._dissection_rank(224, 224)), np.arange(224 * 224))


def test_noise_only_on_removed_pixels_seeded_and_of_the_right_size():
    img = np.full((64, 64, 3), 128.0, np.float32)
    removed = np.random.default_rng(3).random((64, 64)) < 0.5
    noisy = road.impute(img, removed, seed=[7, 1])
    np.testing.assert_array_equal(noisy[~removed], img[~removed])
    noise = noisy[removed] - 128.0
    assert noise.std() == pytest.approx(0.01 * 255, rel=0.05) and abs(noise.mean()) < 0.1
    np.testing.assert_array_equal(noisy, road.impute(img, removed, seed=[7, 1]))
    assert not np.array_equal(noisy, road.impute(img, removed, seed=[7, 2]))


def test_imputed_values_are_clipped_to_0_255():
    removed = np.random.default_rng(4).random((32, 32)) < 0.6
    for value, bound in ((255.0, 255.0), (0.0, 0.0)):
        out = road.impute(np.full((32, 32, 3), value, np.float32), removed, seed=1)
        assert out.min() >= 0 and out.max() <= 255
        assert np.mean(out[removed] == bound) > 0.4  # about half the noise pushed past the bound


def test_nothing_removed_or_everything_removed():
    img = np.random.default_rng(0).uniform(0, 255, (5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(road.impute(img, np.zeros((5, 5), bool)), img)
    with pytest.raises(ValueError, match="every pixel"):
        road.impute(img, np.ones((5, 5), bool))


# --------------------------------------------------------------------------- what is removed
def test_k_is_the_floor_of_hw_p_over_100():
    assert road.n_removed((224, 224), 10) == 5017  # 5017.6
    assert road.n_removed((7, 9), 10) == 6 and road.n_removed((7, 9), 90) == 56
    assert road.n_removed((8, 8), 12.5) == 8 and road.n_removed((10, 10), 0) == 0
    for bad in (100, -1, 120):
        with pytest.raises(ValueError, match="percentages"):
            road.n_removed((8, 8), bad)
    rank = road.ranking(np.random.default_rng(0).random((7, 9)))
    for order in road.ORDERS:
        for p in road.PERCENTAGES:
            assert road.removed_mask(rank, (7, 9), road.n_removed((7, 9), p), order).sum() == 7 * 9 * p // 100


def test_morf_removes_the_most_and_lerf_the_least_relevant():
    sal = np.arange(40, dtype=np.float64).reshape(5, 8)  # distinct values
    rank = road.ranking(sal, seed=3)
    np.testing.assert_array_equal(road.removed_mask(rank, (5, 8), 12, "MoRF"), sal >= 28)
    np.testing.assert_array_equal(road.removed_mask(rank, (5, 8), 12, "lerf"), sal < 12)
    with pytest.raises(ValueError, match="MoRF"):
        road.removed_mask(rank, (5, 8), 12, "deletion")


def test_ties_are_broken_by_seeded_jitter_not_raster_order():
    flat = np.ones((16, 16))
    k = road.n_removed(flat.shape, 25)
    first = road.removed_mask(road.ranking(flat, seed=1), flat.shape, k, "MoRF")
    assert first.sum() == k and not first[:4].all()  # not the first 4 rows
    assert first[8:].sum() > 10  # spread over the whole plateau
    np.testing.assert_array_equal(first, road.removed_mask(road.ranking(flat, seed=1), flat.shape, k, "MoRF"))
    assert not np.array_equal(first, road.removed_mask(road.ranking(flat, seed=2), flat.shape, k, "MoRF"))
    # the jitter (1e-4 of the map's range) only reorders ties: 4 plateaus keep their order
    steps = np.repeat(np.array([0.0, 1.0, 2.0, 3.0]), 64).reshape(16, 16) * 1e-2
    np.testing.assert_array_equal(road.removed_mask(road.ranking(steps, 5), steps.shape, 64, "MoRF"), steps == 3e-2)
    np.testing.assert_array_equal(road.removed_mask(road.ranking(steps, 5), steps.shape, 128, "LeRF"), steps <= 1e-2)


# --------------------------------------------------------------------------- scores
def _patch_case():
    """A model whose class-0 probability is the mean brightness of a 16 x 16 patch / 255, an image
    bright on the patch and dark elsewhere, a map on the patch and a map elsewhere."""
    model = patch_model((32, 32), (8, 24), (8, 24))
    img = np.random.default_rng(8).uniform(0, 40, (32, 32, 3)).astype(np.float32)
    img[8:24, 8:24] = 250.0
    on = np.zeros((32, 32), np.float32)
    on[8:24, 8:24] = 1.0
    return model, img, on, 1.0 - on


def test_a_map_on_what_the_model_uses_scores_low_morf_and_high_lerf():
    model, img, on, off = _patch_case()
    res = road.road_curves(model, img, {"on": on, "off": off}, 0, seed=4, batch_size=8)
    assert res["on"]["MoRF"][1] < 0.4 < 0.9 < res["off"]["MoRF"][1]
    assert res["off"]["LeRF"][1] < 0.4 < 0.9 < res["on"]["LeRF"][1]
    # MoRF on the patch: once the whole patch (25 % of the pixels) is gone, it is filled from the dark
    assert all(s < 0.2 for s in res["on"]["MoRF"][0][2:])
    for name in ("on", "off"):
        for order in road.ORDERS:
            scores, mean = res[name][order]
            assert scores.shape == (9,) and mean == pytest.approx(scores.mean())


def test_the_score_is_the_class_probability_of_each_imputed_image():
    model, img, on, _ = _patch_case()
    sal = on + np.random.default_rng(0).random((32, 32)) * 0.5
    scores, mean = road.road(model, img, sal, 0, "LeRF", percentages=(20, 50, 80), seed=9, batch_size=2)
    images, blocks = road.imputed_images(img, {"m": sal}, ("LeRF",), (20, 50, 80), seed=9)
    assert blocks == [("m", "LeRF")]
    np.testing.assert_allclose(scores, images[:, 8:24, 8:24].mean(axis=(1, 2, 3)) / 255.0, rtol=1e-5)
    assert mean == pytest.approx(scores.mean())
    scores1, _ = road.road(model, img, sal, 1, "LeRF", percentages=(20, 50, 80), seed=9)
    np.testing.assert_allclose(scores1, 1 - scores, atol=1e-6)


def test_determinism_seeds_and_threads():
    model, img, on, _ = _patch_case()
    sal = np.random.default_rng(1).random((32, 32))
    a = road.road_curves(model, img, {"m": sal}, 0, seed=3, workers=1)
    b = road.road_curves(model, img, {"m": sal}, 0, seed=3, workers=3)
    c = road.road_curves(model, img, {"m": sal}, 0, seed=4)
    for order in road.ORDERS:
        np.testing.assert_array_equal(a["m"][order][0], b["m"][order][0])
        assert not np.array_equal(a["m"][order][0], c["m"][order][0])

def test_noise_streams_per_order_shared_by_the_maps():
    # on a constant image the imputed value is the constant plus the level's noise
    img = np.full((24, 24, 3), 100.0, np.float32)
    rng = np.random.default_rng(2)
    maps = {"a": rng.random((24, 24)), "b": rng.random((24, 24))}
    images, blocks = road.imputed_images(img, maps, road.ORDERS, (60,), seed=3)
    got = dict(zip(blocks, images))
    changed = {key: np.any(im != 100.0, axis=-1) for key, im in got.items()}
    both_orders = changed["a", "MoRF"] & changed["a", "LeRF"]  # the middle 20 % is removed in both
    assert both_orders.sum() > 50
    assert np.all(got["a", "MoRF"][both_orders] != got["a", "LeRF"][both_orders])  # MoRF and LeRF differ
    both_maps = changed["a", "MoRF"] & changed["b", "MoRF"]
    assert both_maps.sum() > 50
    np.testing.assert_array_equal(got["a", "MoRF"][both_maps], got["b", "MoRF"][both_maps])  # common noise


def test_a_map_is_resized_to_the_image_and_bad_maps_are_refused():
    model, img, on, _ = _patch_case()
    small = on[::2, ::2]  # 16 x 16, resized to 32 x 32
    assert road.road(model, img, small, 0, seed=1)[1] < 0.4
    with pytest.raises(ValueError, match="2-D"):
        road.road(model, img, np.ones((32, 32, 3)), 0)
    with pytest.raises(ValueError, match="NaN"):
        road.road(model, img, np.full((32, 32), np.nan), 0)
    with pytest.raises(ValueError, match="order"):
        road.road(model, img, on, 0, order="up")


# --------------------------------------------------------------------------- registry and command line
def test_registered_opt_in_with_its_direction():
    from xai_mexculture import metrics
    morf, lerf = metrics.get("ROAD_MoRF"), metrics.get("ROAD_LeRF")
    assert not morf.higher_is_better and lerf.higher_is_better
    model, img, on, off = _patch_case()
    image = metrics.ImageData("x.png", img, 0, model=model, seed=4)
    assert "ROAD_MoRF" not in metrics.evaluate_image(image, {"ON": on})["ON"]  # off by default
    image = metrics.ImageData("x.png", img, 0, model=model, seed=4, options=frozenset({"road"}))
    values = metrics.evaluate_image(image, {"ON": on, "OFF": off})
    assert values["ON"]["ROAD_MoRF"] < values["OFF"]["ROAD_MoRF"]
    assert values["ON"]["ROAD_LeRF"] > values["OFF"]["ROAD_LeRF"]
    with pytest.raises(ValueError, match="option"):
        metrics.Metric("X", True, (), lambda im, maps: {}, option="")


def test_main_with_road_fills_the_columns(tmp_path):
    import constants
    from xai_mexculture.cli import main
    from xai_mexculture.run import exits
    from xai_mexculture.results import tables
    out = tmp_path / "out"
    args = ["--n_images", "1", "--explanation_method", "GRADCAM,FEM", "--display_type", "none", "--no_progress",
            "--output_dir", str(out), "--references", "none"]
    assert main.main(args + ["--road"]) == exits.EXIT_OK
    rows = tables.read_rows(out / "results.csv")
    assert [r["method"] for r in rows] == ["GRADCAM", "FEM", "HUMAN"]  # HUMAN: the demo's scanpaths
    rows = rows[:2]
    for r in rows:
        assert 0 <= r["ROAD_MoRF"] <= 1 and 0 <= r["ROAD_LeRF"] <= 1, r
    assert json.loads((out / "manifest.json").read_text())["numbers"]["road"] is True
    assert "ROAD_MoRF" in (out / "summary.md").read_text()
    # the rows cannot be mixed with rows computed without ROAD
    assert main.main(args + ["--resume"]) == exits.EXIT_USAGE
    with (out / "results.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 3
    assert constants.ROAD_PERCENTAGES == tuple(range(10, 100, 10))
