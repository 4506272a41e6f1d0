"""Per-image figures: nearly flat maps are not stretched; the grid has the input and the GFDM once and a
row per method and reference (map with colour bar, overlay, curves on a common scale); 150 dpi, fonts
of at least 8 pt, png/pdf/svg with PNG previews, singles of at least 512 px, one colour per method,
equal files for equal data, the shared grid figure drawing what a figure of its own draws."""
import fake_run
import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.text import Text
from PIL import Image

from xai_mexculture.render import figures
from xai_mexculture.render import style
from xai_mexculture.results import saved


def test_a_nearly_flat_map_keeps_the_fixed_scale():
    flat = 0.94 + 0.05 * np.random.default_rng(0).random((8, 8))  # RISE-like: range < 0.1
    low, high, note = figures.display_range(flat)
    assert (low, high) == (0.0, 1.0) and "nearly flat" in note
    np.testing.assert_allclose(figures.stretch(flat), flat, rtol=1e-6)  # not stretched to [0, 1]
    ramp = np.linspace(0.3, 0.9, 64).reshape(8, 8)
    low, high, note = figures.display_range(ramp)
    assert (low, high) == pytest.approx((0.3, 0.9)) and "stretched" in note
    assert figures.stretch(ramp).min() == 0 and figures.stretch(ramp).max() == pytest.approx(1)


def image_figure(methods=("GRADCAM", "RISE", "CENTER")):
    return fake_run.figure_data(methods=methods)


def test_grid_has_the_input_once_then_a_row_per_method_and_reference(tmp_path, fonts_checked):
    f = image_figure()
    with style.rc():
        fig = figures.grid_figure(f)
    image_axes = [ax for ax in fig.axes if any(isinstance(a, AxesImage) for a in ax.get_children())]
    bars = [child for ax in fig.axes for child in ax.child_axes if hasattr(child, "_colorbar")]
    curve_axes = [ax for ax in fig.axes if ax.get_lines()]
    assert len(image_axes) == 2 + 2 * 3  # input and GFDM once; map and overlay per row
    assert len(bars) == 1 + 2 * 3  # the GFDM's, and one beside every map and overlay
    assert len(curve_axes) == 2 * 3  # insertion and deletion per row
    assert {ax.get_ylim() for ax in curve_axes} == {(0.0, 1.02)} and {ax.get_xlim() for ax in curve_axes} == {(0, 1)}
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "CENTER (reference)" in texts and "GRADCAM" in texts and "RISE" in texts
    assert sum("input" in t and "true Colonial" in t and "predicted Modern (0.61)" in t for t in texts) == 1
    assert any("nearly flat" in t for t in texts)
    colours = {ax.get_lines()[0].get_color() for ax in curve_axes}
    assert colours == {style.colour(m) for m in ("GRADCAM", "RISE", "CENTER")}
    assert {ax.get_lines()[0].get_linestyle() for ax in curve_axes} == {"-", "--"}  # references dashed
    # saved: 150 dpi, every text >= 8 pt (fonts_checked)
    [png] = figures.save_image_figures(f, tmp_path, "grid", "png")
    assert png.name == "Colonial_X_Y_N_1_grid.png" and fonts_checked
    with Image.open(png) as im:
        assert im.info["dpi"] == pytest.approx((150, 150), abs=0.1)
        assert im.size[0] >= 1200  # about 8.5 in at 150 dpi


def test_the_font_check_catches_small_text(tmp_path, fonts_checked, monkeypatch):
    monkeypatch.setitem(style.RC, "xtick.labelsize", 6)
    with pytest.raises(AssertionError, match="under 8 pt"):
        figures.save_image_figures(image_figure(), tmp_path, "grid", "png")


@pytest.mark.parametrize("fmt,magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_vector_formats_with_png_previews_and_equal_files_for_equal_data(tmp_path, fmt, magic, fonts_checked):
    f = image_figure()
    [png] = figures.save_image_figures(f, tmp_path / "a", "grid", fmt)
    vector = png.with_suffix(f".{fmt}")
    assert vector.read_bytes().startswith(magic) and png.read_bytes().startswith(b"\x89PNG")
    figures.save_image_figures(f, tmp_path / "b", "grid", fmt)
    assert (tmp_path / "b" / vector.name).read_bytes() == vector.read_bytes()  # no dates inside
    assert (tmp_path / "b" / png.name).read_bytes() == png.read_bytes()


def test_singles_are_at_least_512_px(tmp_path, fonts_checked):
    f = image_figure(("GRADCAM", "RISE"))
    pngs = figures.save_image_figures(f, tmp_path, "singles", "png")
    expected = ["input", "gfdm"] + [f"{m}_{p}" for m in ("GRADCAM", "RISE") for p in figures.panel_names()]
    assert [p.stem for p in pngs] == expected
    assert pngs == figures.figure_paths(tmp_path, f.name, "singles", ["GRADCAM", "RISE"])
    for png in pngs:
        with Image.open(png) as im:
            assert min(im.size) >= 512, (png.name, im.size)
    assert len(fonts_checked) == len(expected)


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown figure format 'jpg'"):
        figures.save_image_figures(image_figure(), tmp_path, "grid", "jpg")


def test_colours_are_fixed_per_method():
    assert style.colour("GRADCAM") == "#1f77b4" and style.colour("RISE") == "#2ca02c"
    assert len({style.colour(m) for m in style.BUILT_IN}) == len(style.BUILT_IN)
    assert style.colour("MY_METHOD") == style.colour("MY_METHOD") in style.EXTRA
    refs = {style.colour(r) for r in ("CENTER", "RANDOM", "HUMAN")}
    assert not refs & set(style.BUILT_IN.values()) and len(refs) == 3
    assert style.is_reference("CENTER") and style.is_reference("HUMAN") and not style.is_reference("GRADCAM")


def test_saved_image_data_round_trip(tmp_path):
    f = image_figure(("GRADCAM", "CENTER"))
    saved.save_image(tmp_path, f.name, f.img.astype(np.float32) + 0.4, f.gfdm, f.curves)
    first = (tmp_path / "curves" / "Colonial_X_Y_N_1.npz").read_bytes()
    saved.save_image(tmp_path, f.name, f.img, f.gfdm, f.curves)
    assert (tmp_path / "curves" / "Colonial_X_Y_N_1.npz").read_bytes() == first  # no dates in the npz
    (tmp_path / "maps").mkdir()
    for m, sal in f.maps.items():
        np.save(tmp_path / "maps" / f"Colonial_X_Y_N_1_{m}.npy", sal)
    back = saved.load_image(tmp_path, f.name, ["GRADCAM", "CENTER"])
    np.testing.assert_array_equal(back["img"], f.img)
    np.testing.assert_allclose(back["gfdm"], f.gfdm, atol=1 / 65535)
    assert back["curves"]["Insertion"]["GRADCAM"].tolist() == f.curves["Insertion"]["GRADCAM"].tolist()
    assert set(back["curves"]) == {"Insertion", "Deletion"} and set(back["maps"]) == {"GRADCAM", "CENTER"}
    with pytest.raises(FileNotFoundError, match="Colonial_X_Y_N_1_LIME.npy"):
        saved.load_image(tmp_path, f.name, ["LIME"])


def test_a_row_without_saved_curves_says_so():
    f = image_figure(("GRADCAM", "CENTER"))
    del f.curves["Deletion"]["CENTER"]
    with style.rc():
        fig = figures.grid_figure(f)
    texts = list({id(t): t.get_text() for t in fig.findobj(Text)}.values())
    assert texts.count("Deletion: no curve saved") == 1 and texts.count("Deletion AUC 0.400") == 1


def test_the_shared_grid_figure_draws_what_a_figure_of_its_own_draws(tmp_path):
    """The grid figure is made once per layout and filled per image: the second image's file is the
    one a figure made for it alone gives (titles, colour scales, curves and texts all replaced)."""
    first = image_figure()
    second = image_figure()
    rng = np.random.default_rng(5)
    second.name = "Modern_Z_N_2.png"
    second.img = rng.integers(0, 256, second.img.shape, dtype=np.uint8)
    second.maps = {m: rng.random((32, 32)).astype(np.float32) * 0.5 for m in second.maps}  # RISE no longer flat
    second.curves = {k: {m: rng.random(9) for m in v} for k, v in second.curves.items()}
    second.info = dict(second.info, predicted_class="Colonial", confidence=0.9)
    second.values = {m: {"Insertion": 0.7, "Deletion": 0.2} for m in second.maps}
    assert figures.grid_layout_key(first) == figures.grid_layout_key(second)
    figures.save_image_figures(first, tmp_path / "shared", "grid", "png")
    [shared] = figures.save_image_figures(second, tmp_path / "shared", "grid", "png")
    with style.rc():
        alone = style.save(figures.grid_figure(second), tmp_path / "x_grid", "png")
    with Image.open(shared) as a, Image.open(alone) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    with Image.open(tmp_path / "shared" / "Colonial_X_Y_N_1_grid.png") as a:
        assert not np.array_equal(np.asarray(a), np.asarray(Image.open(alone)))


def _zlib_level_class(png_bytes) -> int:
    """FLEVEL of the zlib stream of a PNG's first IDAT chunk: 0 fastest (levels 0-1), 1 fast,
    2 default (6), 3 maximum."""
    import struct
    pos = 8
    while True:
        length, kind = struct.unpack(">I4s", png_bytes[pos:pos + 8])
        if kind == b"IDAT":
            return png_bytes[pos + 9] >> 6
        pos += 12 + length


def test_pngs_are_written_with_fast_compression(tmp_path, fonts_checked):
    # zlib level 1: a quarter less time per grid figure than the default 6, files about 18% larger
    [png] = figures.save_image_figures(image_figure(), tmp_path, "grid", "png")
    assert _zlib_level_class(png.read_bytes()) == 0
    [png] = figures.save_image_figures(image_figure(), tmp_path / "pdf", "grid", "pdf")  # the preview
    assert _zlib_level_class(png.read_bytes()) == 0


def test_the_seeds_grid_layout_stays_importable_from_utils(tmp_path):
    """figures.grid_layout is one of the seed's names (kept importable from utils); it draws the images
    in a grid and saves it."""
    images = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 0.5, np.float32), np.ones((8, 8), np.float32)]
    figures.grid_layout(images, ["a", "b", "c"], path=tmp_path / "grid.png", ncols=2)
    width, height = Image.open(tmp_path / "grid.png").size
    assert width > 0 and height > width * 0.9  # 2 columns x 2 rows of square panels
