"""report.html (html_report.py): one self-contained page of a run, with relative links."""
import re

import fake_run
import pytest


def test_page_is_self_contained_with_relative_links(fake):
    out, result = fake
    page = (out / "report.html").read_text()
    assert result["page"] == out / "report.html" and result["images"] == 4 and not result["unsaved"]
    assert not re.search(r"(src|href)=\"(https?:|//|/)", page)  # nothing external, nothing absolute
    assert "<link rel=\"stylesheet\"" not in page and "<script src" not in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 4 + 10  # the four figures and the plots
    assert all((out / s).is_file() for s in sources)
    for section in ("Summary", "Comparisons", "Plots", "Per image", "Figures", "Errors", "Manifest"):
        assert f">{section}</h2>" in page
    assert page.count(' class=sortable>') == 2  # comparisons and per image
    per_image = page.split('id="images"')[1].split("</table>")[0]
    assert per_image.count("<tr") == 1 + 4 * 6  # header, 4 images x (3 methods, 2 references, HUMAN)
    assert 'href="#fig-Colonial_Fake000_X_N_1"' in per_image and 'id="fig-Colonial_Fake000_X_N_1"' in page
    assert "&lt;as an image&gt; &amp; so on" in page  # errors escaped
    assert "CENTER (reference)" in page.split('id="summary"')[1].split("</table>")[0]
    gaze = page.split('id="t-summary-1"')[1].split("</table>")[0]  # the first metric family's table
    assert re.search(r"<small>\[-?\d\.\d{3}, -?\d\.\d{3}\]</small>", gaze)  # confidence intervals, 3 decimals


def test_page_links_vector_figures_beside_png_previews(tmp_path):
    out = tmp_path / "out"
    fake_run.build(out, figure_format="svg", n_images=2)
    page = (out / "report.html").read_text()
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources and all(s.endswith(".png") and (out / s).is_file() for s in sources)
    assert 'href="figures/Colonial_Fake000_X_N_1_grid.svg"' in page and 'href="plots/box_PCC.svg"' in page
    assert (out / "figures" / "Colonial_Fake000_X_N_1_grid.svg").read_bytes().startswith(b"<?xml")


def test_page_of_a_run_without_figures(tmp_path):
    out = tmp_path / "out"
    result = fake_run.build(out, display_type="none", n_images=2)
    page = (out / "report.html").read_text()
    assert result["plots"] == [] and "<img" not in page and "--display_type grid" in page
    assert not (out / "figures").exists()
