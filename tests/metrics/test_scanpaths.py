"""Reference rows: the CENTER and RANDOM maps, scanpath parsing, the leave-one-out and split-half
human ceiling, and duration-weighted GFDMs."""
import math

import numpy as np
import pytest

from xai_mexculture.core import data
from xai_mexculture.metrics import gaze
from xai_mexculture.metrics import scanpaths


def test_scanpath_files_malformed_ones_named_and_skipped(tmp_path):
    good = "10 20 0.3\n30 40 0.2\n"
    (tmp_path / "Colonial_A_B_ScanPath_N_1_P_1.txt").write_text(good)
    (tmp_path / "Colonial_A_B_ScanPath_N_1_P_2.txt").write_text("# x y d\n15 25 0.5\n")
    (tmp_path / "Colonial_A_B_ScanPath_N_1_P_3.txt").write_text("ten twenty\n")
    (tmp_path / "Colonial_A_B_ScanPath_N_1_P_4.txt").write_text("")
    (tmp_path / "Colonial_A_B_ScanPath_N_1_P_5.txt").write_text("1 2 -4\n")
    (tmp_path / "Colonial_A_B_Scan_N_1.txt").write_text(good)
    (tmp_path / "Modern_C_D_ScanPath_N_2_P_7.txt").write_text(good)
    index, problems, _ = scanpaths.read_folder(tmp_path)
    assert sorted(index) == ["Colonial_A_B_N_1", "Modern_C_D_N_2"]
    assert sorted(index["Colonial_A_B_N_1"]) == ["1", "2"]
    np.testing.assert_allclose(index["Colonial_A_B_N_1"]["2"], [[15, 25, 0.5]])
    reasons = dict(problems)
    assert set(reasons) == {"Colonial_A_B_ScanPath_N_1_P_3.txt", "Colonial_A_B_ScanPath_N_1_P_4.txt",
                            "Colonial_A_B_ScanPath_N_1_P_5.txt", "Colonial_A_B_Scan_N_1.txt"}
    assert "not a fixation file" in reasons["Colonial_A_B_ScanPath_N_1_P_3.txt"]
    assert reasons["Colonial_A_B_ScanPath_N_1_P_4.txt"] == "no fixation"
    assert "durations" in reasons["Colonial_A_B_ScanPath_N_1_P_5.txt"]
    assert "not a scanpath file name" in reasons["Colonial_A_B_Scan_N_1.txt"]


def test_leave_one_out_of_two_identical_participants_is_the_nss_of_their_gfdm():
    shape, sigma = (40, 50), 4.0
    fix = np.array([[10.0, 12.0, 0.2], [30.0, 25.0, 0.4], [40.0, 8.0, 0.1]])
    own = gaze.calculate_nss(fix[:, :2], data.gfdm_from_fixations(fix, shape, sigma))
    own_judd = gaze.calculate_auc_judd(fix[:, :2], data.gfdm_from_fixations(fix, shape, sigma))
    centre = np.zeros(shape)
    centre[20, 25] = 1
    res = scanpaths.leave_one_out([fix, fix.copy()], shape, sigma, "count", {"M": centre})
    assert res["HUMAN"] == pytest.approx((own, own_judd))
    assert res["M"][0] == pytest.approx(gaze.calculate_nss(fix[:, :2], centre))
    assert scanpaths.leave_one_out([fix], shape, sigma, "count", {})["HUMAN"][0] != res["HUMAN"][0]  # NaN


def test_split_half_scores_and_normalisation():
    shape, sigma = (40, 40), 3.0
    a = np.array([[10.0, 10.0, 1.0]])
    b = np.array([[30.0, 30.0, 1.0]])
    ga, gb = data.gfdm_from_fixations(a, shape, sigma), data.gfdm_from_fixations(b, shape, sigma)
    res = scanpaths.split_half([a, b], shape, sigma, "count", {"A": ga}, n_splits=4, seed=0)
    assert res["HUMAN"][0] == pytest.approx(gaze.calculate_pcc(ga, gb))
    assert res["HUMAN"][2] == pytest.approx((gaze.calculate_kld(ga, gb) + gaze.calculate_kld(gb, ga)) / 2)
    # the map equals one half's GFDM: the mean of PCC 1 and PCC(ga, gb) whatever the split
    assert res["A"][0] == pytest.approx((1 + gaze.calculate_pcc(gb, ga)) / 2)
    assert scanpaths.normalised((1.0, 0.7), (2.0, 0.9)) == pytest.approx((0.5, 0.5))
    assert math.isnan(scanpaths.normalised((1.0, 0.7), (0.0, 0.5))[1])


def test_split_half_equals_the_metrics_called_per_half():
    """split_half prepares each map's forms once (evaluate.GazeForms); its numbers are exactly those
    of calculate_pcc/sim/kld called on every half of every split: a random map, a constant map (PCC
    0, uniform distributions) and a map of another size (resized)."""
    shape, sigma, rng = (24, 32), 2.5, np.random.default_rng(3)
    people = [np.column_stack([rng.uniform(0, 32, 6), rng.uniform(0, 24, 6), rng.uniform(0.1, 1, 6)])
              for _ in range(5)]
    maps = {"R": rng.random(shape), "C": np.zeros(shape), "S": rng.random((12, 16)).astype(np.float32)}
    got = scanpaths.split_half(people, shape, sigma, "duration", maps, n_splits=3, seed=7)
    want = {name: [] for name in ["HUMAN", *maps]}
    for k in range(3):
        order = np.random.default_rng([7, k]).permutation(5)
        a, b = (scanpaths._gfdm([people[i] for i in part], shape, sigma, "duration") for part in (order[:2], order[2:]))
        want["HUMAN"].append((gaze.calculate_pcc(a, b), gaze.calculate_sim(a, b),
                              (gaze.calculate_kld(a, b) + gaze.calculate_kld(b, a)) / 2))
        for name, m in maps.items():
            want[name].append(np.mean([(gaze.calculate_pcc(h, m), gaze.calculate_sim(h, m),
                                        gaze.calculate_kld(h, m)) for h in (a, b)], axis=0))
    for name, values in want.items():
        assert got[name] == tuple(np.mean(np.array(values), axis=0)), name
    assert got["C"][0] == 0.0


def test_duration_weighting():
    pts = np.array([[5.0, 5.0, 100.0], [25.0, 5.0, 300.0]])
    count = data.gfdm_from_fixations(pts, (10, 31), 2.0, data.fixation_weights(pts, "count"))
    duration = data.gfdm_from_fixations(pts, (10, 31), 2.0, data.fixation_weights(pts, "duration"))
    assert count[5, 5] == pytest.approx(count[5, 25])
    assert duration[5, 25] == pytest.approx(1.0) and duration[5, 5] == pytest.approx(1 / 3, rel=1e-3)
    assert data.fixation_weights(pts[:, :2], "duration") is None  # no durations: counted (a warning)
    with pytest.raises(ValueError, match="unknown GFDM weighting"):
        data.fixation_weights(pts, "area")


def _scanpath_folder(root, stems, n_participants=4, seed=0):
    """Participants' scanpaths around each demo image's own fixations, and one malformed file."""
    import constants
    folder = root / "scanpaths"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for stem in stems:
        pts = data.read_fixations(constants.DEMO_TEST_FIXATIONS / f"{data.fixation_stem(stem)}.txt")
        base, tail = stem.rsplit("_", 2)[0], "_".join(stem.rsplit("_", 2)[1:])
        for p in range(1, n_participants + 1):
            q = pts + rng.normal(0, 4, pts.shape)
            rows = "\n".join(f"{x:.1f} {y:.1f} {d:.3f}" for (x, y), d in zip(q, rng.uniform(0.1, 0.5, len(q))))
            (folder / f"{base}_ScanPath_{tail}_P_{p}.txt").write_text(rows + "\n")
    (folder / f"{base}_ScanPath_{tail}_P_99.txt").write_text("x y\n")
    return folder


def test_a_run_with_scanpaths_has_reference_rows_and_the_human_ceiling(tmp_path):
    import shutil

    import constants
    from xai_mexculture.cli import main
    from xai_mexculture.run import exits
    from xai_mexculture.results import tables
    stems = ["Colonial_DemoTest001_Synthetic_N_1", "Modern_DemoTest002_Synthetic_N_1"]
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for stem in stems:
        shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}.png", imgs)
    sp = _scanpath_folder(tmp_path, stems)
    out = tmp_path / "out"
    status = main.main(["--test_images_folder_path", str(imgs), "--scanpaths_folder_path", str(sp),
                        "--fixations_folder_path", str(constants.DEMO_TEST_FIXATIONS),
                        "--explanation_method", "GRADCAM", "--step", "4000", "--no_progress",
                        "--display_type", "none", "--output_dir", str(out), "--gfdm_sigma", "14"])
    assert status == exits.EXIT_PARTIAL  # the malformed scanpath is reported
    rows = tables.read_rows(out / "results.csv")
    by = {(r["image"], r["method"]): r for r in rows}
    assert sorted({r["method"] for r in rows}) == ["CENTER", "GRADCAM", "HUMAN", "RANDOM"]
    for stem in stems:
        human = by[(f"{stem}.png", "HUMAN")]
        assert human["NSS_norm"] == 1.0 and human["AUC_Judd_norm"] == 1.0
        assert np.isnan(human["PCC"]) and np.isnan(human["Insertion"])  # HUMAN is not a map
        for method in ("GRADCAM", "CENTER", "RANDOM"):
            r = by[(f"{stem}.png", method)]
            assert np.isfinite([r[c] for c in scanpaths.LOO + scanpaths.SPLIT + scanpaths.NORM]).all()
            assert r["NSS_norm"] == pytest.approx(r["NSS_loo"] / human["NSS_loo"])
            assert r["AUC_Judd_loo"] < human["AUC_Judd_loo"]  # observers agree better than any map here
    text = (out / "summary.md").read_text()
    assert "| *HUMAN* (reference) | 2 |" in text and "| *CENTER* (reference) | 2 |" in text
    errors = (out / "errors.csv").read_text()
    assert "ScanPath_N_1_P_99.txt" in errors
    comparisons = (out / "comparisons.csv").read_text()
    assert "HUMAN" not in comparisons and "CENTER" not in comparisons


def test_duration_weighting_reaches_the_gfdms_built_from_fixations(tmp_path):
    import shutil

    import constants
    from xai_mexculture.cli import main
    stem = "Colonial_DemoTest001_Synthetic_N_1"
    imgs, fix = tmp_path / "imgs", tmp_path / "fix"
    imgs.mkdir()
    fix.mkdir()
    shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}.png", imgs)
    (fix / f"{data.fixation_stem(stem)}.txt").write_text("100 100 50\n200 150 950\n")
    pccs = {}
    for weighting in ("count", "duration"):
        out = tmp_path / weighting
        assert main.main(["--test_images_folder_path", str(imgs), "--test_gdfm_folder_path", str(tmp_path / "fix"),
                          "--fixations_folder_path", str(fix), "--explanation_method", "GRADCAM", "--step", "4000",
                          "--no_progress", "--display_type", "none", "--output_dir", str(out),
                          "--gfdm_weighting", weighting, "--references", "CENTER"]) == 0
        from xai_mexculture.results import tables
        pccs[weighting] = {r["method"]: r["PCC"] for r in tables.read_rows(out / "results.csv")}
    assert pccs["count"]["CENTER"] != pytest.approx(pccs["duration"]["CENTER"])


def test_simulated_demo_observers_round_trip(tmp_path):
    from xai_mexculture.core import demo_gaze
    parts = [(50, 40), (80, 60), (120, 30), (60, 100)]
    people = demo_gaze.simulate(np.random.default_rng(1), parts, (120, 160), n_participants=6)
    again = demo_gaze.simulate(np.random.default_rng(1), parts, (120, 160), n_participants=6)
    assert len(people) == 6 and all(np.array_equal(a, b) for a, b in zip(people, again))  # seeded
    for pts in people:
        assert pts.shape[1] == 3 and (pts[:, 2] >= 0.12).all() and (pts[:, 2] <= 0.6).all()
        assert (pts[:, 0] <= 159).all() and (pts[:, 1] <= 119).all()
        near = np.min(np.linalg.norm(pts[:, None, :2] - np.array(parts)[None], axis=2), axis=1) < 20
        assert near.sum() >= 2  # each observer looks at parts, not only around
    demo_gaze.write(tmp_path, "Colonial_DemoTest001_Synthetic_N_1", people)
    index, problems, _ = scanpaths.read_folder(tmp_path)
    assert not problems and sorted(index) == ["Colonial_DemoTest001_Synthetic_N_1"]
    got = index["Colonial_DemoTest001_Synthetic_N_1"]
    assert sorted(got, key=int) == [str(k) for k in range(1, 7)]
    np.testing.assert_allclose(got["3"], people[2], atol=0.06)
