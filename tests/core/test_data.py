import math

import cv2
import numpy as np
import pytest

import constants

from xai_mexculture.cli import make_demo
from xai_mexculture.core import data
from xai_mexculture.core import image_io


def _write(path, arr):
    assert cv2.imwrite(str(path), arr)


def test_pairing_reports_missing_gfdm_and_skips_stray_files(tmp_path, caplog):
    imgs, gfdms, fix = tmp_path / "img", tmp_path / "gfdm", tmp_path / "fix"
    for d in (imgs, gfdms, fix):
        d.mkdir()
    px = np.zeros((4, 4, 3), np.uint8)
    _write(imgs / "Colonial_Church_Puebla_N_1.png", px)
    _write(imgs / "Modern_Tower_CDMX_N_2.jpg", px)
    (imgs / ".DS_Store").write_bytes(b"\x00\x01")
    (imgs / "notes.txt").write_text("not an image")
    _write(gfdms / "Colonial_Church_Puebla_GFDM_N_1.png", px[:, :, 0])
    (fix / "Colonial_Church_Puebla_GazeFix_N_1.txt").write_text("1 2 300\n")
    with caplog.at_level("WARNING"):
        samples = data.pair_samples(imgs, gfdms, fix)
    assert [s.name for s in samples] == ["Colonial_Church_Puebla_N_1.png", "Modern_Tower_CDMX_N_2.jpg"]
    assert samples[0].gfdm_path.name == "Colonial_Church_Puebla_GFDM_N_1.png"
    assert samples[0].fixation_path.name == "Colonial_Church_Puebla_GazeFix_N_1.txt"
    assert samples[1].gfdm_path is None and samples[1].fixation_path is None
    assert "Modern_Tower_CDMX_N_2.jpg" in caplog.text


def test_naming():
    assert data.gfdm_stem("Prehispanic_Tajin_Veracruz_N_3.png") == "Prehispanic_Tajin_Veracruz_GFDM_N_3"
    assert data.fixation_stem("Prehispanic_Tajin_Veracruz_N_3.png") == "Prehispanic_Tajin_Veracruz_GazeFix_N_3"


def test_class_indices():
    assert data.class_index("Colonial_A_B_N_1.png") == 0
    assert data.class_index("/x/y/Modern_A_B_N_1.png") == 1
    assert data.class_index("prehispanic_A_B_N_1.png") == 2
    with pytest.raises(ValueError, match="Gothic_A_B_N_1.png"):
        data.class_index("Gothic_A_B_N_1.png")


@pytest.mark.parametrize("kind", ["rgb", "rgba", "gray", "gray16", "rgb16", "jpeg"])
def test_load_image_variants(tmp_path, kind):
    h, w = 37, 53  # odd size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 200  # red in RGB
    bgr = rgb[..., ::-1]
    arr = {"rgb": bgr, "rgba": np.dstack([bgr, np.full((h, w), 128, np.uint8)]),
           "gray": np.full((h, w), 100, np.uint8), "gray16": np.full((h, w), 65535, np.uint16),
           "rgb16": (bgr.astype(np.uint16) * 257), "jpeg": bgr}[kind]
    path = tmp_path / f"Colonial_X_Y_N_1_{kind}.{'jpg' if kind == 'jpeg' else 'png'}"
    _write(path, arr)
    img = image_io.load_image(path, (24, 32))
    assert img.shape == (24, 32, 3) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() <= 255
    if kind in ("rgb", "rgba", "rgb16", "jpeg"):
        tol = 4 if kind == "jpeg" else 0.5  # lossy
        np.testing.assert_allclose(img[..., 0], 200, atol=tol)
        np.testing.assert_allclose(img[..., 1:], 0, atol=tol)
    elif kind == "gray":
        np.testing.assert_allclose(img, 100, atol=0.5)
    else:
        np.testing.assert_allclose(img, 255, atol=0.5)


def test_a_truncated_image_is_named_without_opencvs_own_warning(tmp_path, capfd):
    ok, encoded = cv2.imencode(".png", np.full((40, 40, 3), 90, np.uint8))
    cut = tmp_path / "Modern_Cut_Y_N_1.png"
    cut.write_bytes(encoded.tobytes()[:100])
    with pytest.raises(ValueError, match="Modern_Cut_Y_N_1.png: cannot be read as an image"):
        image_io.load_image(cut)
    assert "WARN" not in capfd.readouterr().err  # OpenCV's "PNG input buffer is incomplete"


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "Colonial_X_Y_N_1.png"
    bad.write_bytes(b"\x89PNG\r\n garbage")
    with pytest.raises(ValueError, match="Colonial_X_Y_N_1.png"):
        image_io.load_image(bad)
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        image_io.load_gfdm(tmp_path / "nothere.png")
    zero = tmp_path / "Colonial_X_Y_GFDM_N_1.png"  # it failed later, in KLD, without the file's name
    cv2.imwrite(str(zero), np.zeros((30, 40), np.uint8))
    with pytest.raises(ValueError, match="Colonial_X_Y_GFDM_N_1.png: the GFDM is all zeros"):
        image_io.load_gfdm(zero)
    badfix = tmp_path / "f.txt"
    badfix.write_text("1 a\n")
    with pytest.raises(ValueError, match="f.txt"):
        data.read_fixations(badfix)


def test_load_gfdm_native_size(tmp_path):
    g = np.zeros((30, 50), np.uint8)
    g[10, 20] = 255
    g[0, 0] = 51
    _write(tmp_path / "g.png", g)
    m = image_io.load_gfdm(tmp_path / "g.png")
    assert m.shape == (30, 50) and m.dtype == np.float32
    assert m[10, 20] == 1.0 and m[0, 0] == pytest.approx(0.2)


def test_gfdm_from_fixations_hand_computed():
    # fixations at (x=1, y=1) and (x=3, y=1), sigma 1: the peak is between them at (x=2, y=1),
    # 2 exp(-1/2); at (x=1, y=1) the sum is 1 + exp(-2).
    m = data.gfdm_from_fixations(np.array([[1, 1], [3, 1], [99, 99]]), (3, 5), sigma=1.0)
    peak = 2 * math.exp(-0.5)
    assert m.shape == (3, 5) and m.dtype == np.float32
    assert m[1, 2] == pytest.approx(1.0)
    assert m[1, 1] == pytest.approx((1 + math.exp(-2)) / peak, rel=1e-6)
    assert m[0, 0] == pytest.approx((math.exp(-1) + math.exp(-5)) / peak, rel=1e-6)
    assert not data.gfdm_from_fixations(np.zeros((0, 2)), (3, 5)).any()


def test_read_fixations(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("# x y dur\n10.5 20 300\n3 4 100\n")
    np.testing.assert_array_equal(data.read_fixations(f), [[10.5, 20], [3, 4]])


def test_demo_generator_is_deterministic(tmp_path):
    a = make_demo.generate_split(tmp_path / "a", "test", 1, seed=5)
    b = make_demo.generate_split(tmp_path / "b", "test", 1, seed=5)
    c = make_demo.generate_split(tmp_path / "c", "test", 1, seed=6)
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb, pc in zip(a, b, c):
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.read_bytes() != pc.read_bytes()
    samples = data.pair_samples(tmp_path / "a" / "images_test", tmp_path / "a" / "gazefixationsdensitymaps",
                                tmp_path / "a" / "fixations")
    assert len(samples) == 3 and all(s.gfdm_path and s.fixation_path for s in samples)
    assert sorted(data.class_index(s.name) for s in samples) == [0, 1, 2]
    # the GFDM is the project's Wooding map of the fixation file
    s = samples[0]
    rebuilt = data.gfdm_from_fixations(data.read_fixations(s.fixation_path),
                                       constants.DEMO_IMAGE_SIZE, constants.GFDM_SIGMA_DEMO)
    np.testing.assert_allclose(image_io.load_gfdm(s.gfdm_path), rebuilt, atol=1 / 255)


def test_bundled_demo_split_matches_generator(tmp_path):
    make_demo.generate_split(tmp_path, "test", constants.DEMO_N_TEST_PER_CLASS)
    bundled = data.list_images(constants.DEMO_TEST_IMAGES)
    assert len(bundled) == 3 * constants.DEMO_N_TEST_PER_CLASS
    for p in bundled:
        assert (tmp_path / "images_test" / p.name).read_bytes() == p.read_bytes()
    # and so are its boxes, scanpaths, pooled fixations and GFDMs, file for file
    for folder in ("boxes", "scanpaths", "fixations", "gazefixationsdensitymaps"):
        made = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert made == sorted(p.name for p in (constants.DEMO_DIR / folder).iterdir()), folder
        assert len(made) >= len(bundled)
        for name in made:
            assert (tmp_path / folder / name).read_bytes() == (constants.DEMO_DIR / folder / name).read_bytes(), name
    areas = make_demo.AREAS_FILE.format(split="test")
    assert (tmp_path / areas).read_bytes() == (constants.DEMO_DIR / areas).read_bytes()


def test_demo_model_accuracy(demo_model):
    from xai_mexculture.cli import train
    x, y = train.load_folder(constants.DEMO_TEST_IMAGES)
    assert train.accuracy(demo_model, x, y) >= 0.9
