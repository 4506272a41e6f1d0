"""Run plots (plots.py), report.html (html_report.py) and `python report.py OUT` (the rebuild from the
saved results alone, equal to what the run wrote, without the model)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import fake_run
import numpy as np
import pytest

from xai_mexculture.cli import main
from xai_mexculture.core import runlock
from xai_mexculture.render import html_report
from xai_mexculture.render import plots
from xai_mexculture.render import rebuild
from xai_mexculture.render import style
from xai_mexculture.results import tables

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    out = tmp_path_factory.mktemp("fake") / "out"
    result = fake_run.build(out, sanity=True)
    return out, result


def test_box_plot_has_a_box_per_row_with_values_and_marks_references(fake, tmp_path):
    out, _ = fake
    rows = tables.read_rows(out / "results.csv")
    with style.rc():
        fig = plots.box_figure(rows, "PCC")
        [ax] = fig.axes
        assert len(ax.patches) == 3 + 2  # GRADCAM, FEM, RISE, CENTER, RANDOM; HUMAN has no PCC
        assert [len(c.get_offsets()) for c in ax.collections] == [4] * 5  # every image a point
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == ["GRADCAM", "FEM", "RISE", "CENTER\n(reference)", "RANDOM\n(reference)"]
        assert [t.get_fontstyle() for t in ax.get_xticklabels()][-2:] == ["italic", "italic"]
        assert [p.get_hatch() for p in ax.patches] == [None, None, None, "///", "///"]
        assert ax.patches[0].get_edgecolor()[:3] == pytest.approx(
            tuple(int(style.colour("GRADCAM")[i:i + 2], 16) / 255 for i in (1, 3, 5)))
        human = plots.box_figure(rows, "NSS_loo").axes[0]
        assert len(human.patches) == 1 and "HUMAN\n(reference)" == human.get_xticklabels()[0].get_text()


@pytest.mark.parametrize("n_names", [3, 5, 7])
def test_box_plot_labels_fit_the_bottom_margin(n_names):
    """The tick labels below a box plot lie inside the figure with no empty band under them (the
    default run's 7 rows, labels rotated, had 0.4 inch of white below them), straight or rotated."""
    names = ["GRADCAM", "FEM", "RISE", "LIME", "CENTER", "RANDOM", "HUMAN"][-n_names:]
    rows = [{"image": f"i{k}", "method": n, "PCC": 0.1 * k + j} for j, n in enumerate(names) for k in range(3)]
    with style.rc():
        fig = plots.box_figure(rows, "PCC")
        [ax] = fig.axes
        lowest = min(t.get_window_extent().y0 for t in ax.get_xticklabels()) / fig.dpi  # inches above the edge
        assert 0.05 <= lowest <= 0.15
        assert ax.get_position().height * fig.get_figheight() == pytest.approx(2.2)  # the axes keep their size
        assert (1 - ax.get_position().y1) * fig.get_figheight() == pytest.approx(0.4)


def test_run_plots_are_written_with_readable_fonts(tmp_path, fonts_checked):
    out = tmp_path / "out"
    result = fake_run.build(out, sanity=True)
    names = sorted(Path(p["png"]).name for p in result["plots"])
    metrics = ["Deletion", "Insertion", "KLD", "NSS_loo", "PCC", "SIM", "Sparseness"]
    assert names == sorted([f"box_{m}.png" for m in metrics] + ["curves.png", "pcc_vs_deletion.png", "sanity.png"])
    assert all((out / p["png"]).stat().st_size > 5000 for p in result["plots"])
    assert len([c for c in fonts_checked if Path(c).parent.name == "plots"]) == len(names)
    (out / "sanity.csv").unlink()
    (out / "plots" / "box_Old.png").write_bytes(b"old")
    again = rebuild.rebuild(out, progress=False, images=False)
    assert "plots/sanity.png" not in [p["png"] for p in again["plots"]]
    assert not (out / "plots" / "sanity.png").exists() and not (out / "plots" / "box_Old.png").exists()


def test_mean_curves_with_t_interval_bands():
    x, mean, low, high = plots.mean_band([np.array([0.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0])])
    assert x.tolist() == [0, 0.5, 1] and mean.tolist() == [0.5, 0.5, 1.0]
    assert np.isnan(low).all() and np.isnan(high).all()  # two curves: no band (as no interval in the summary)
    x, mean, low, high = plots.mean_band([np.array([0.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0]), np.ones(3)])
    half = 4.302652729911275 * np.std([0, 1, 1], ddof=1) / np.sqrt(3)  # t(0.975, 2 df)
    assert low[0] == pytest.approx(2 / 3 - half) and high[0] == pytest.approx(2 / 3 + half) and low[2] == high[2] == 1
    x, mean, low, high = plots.mean_band([np.zeros(3), np.ones(5)])  # other lengths: 101 points
    assert len(x) == 101 and mean[50] == pytest.approx(0.5)
    curves = {"a": {"Insertion": {"GRADCAM": np.ones(3), "CENTER": np.zeros(3)},
                    "Deletion": {"GRADCAM": np.ones(3)}}}
    with style.rc():
        fig = plots.curves_figure(curves, ["GRADCAM", "CENTER"])
    ins, dele = fig.axes
    assert [line.get_color() for line in ins.get_lines()] == [style.colour("GRADCAM"), style.colour("CENTER")]
    assert [line.get_linestyle() for line in ins.get_lines()] == ["-", "--"] and len(dele.get_lines()) == 1


def test_scatter_has_a_series_per_row_with_its_colour(fake):
    out, _ = fake
    rows = tables.read_rows(out / "results.csv")
    with style.rc():
        fig = plots.scatter_figure(rows, plots.row_names(rows))
    ax = fig.axes[0]
    assert len(ax.collections) == 5 and all(len(c.get_offsets()) == 4 for c in ax.collections)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("GRADCAM (rho ") and legend[3].startswith("CENTER (reference)")
    # the legend right of the axes lies inside the figure (it was cut at the references' labels)
    assert ax.get_legend().get_window_extent().x1 <= fig.bbox.x1
    assert fig.get_figwidth() > 6.2 and ax.get_position().width * fig.get_figwidth() == pytest.approx(3.9)


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


def test_report_command_refuses_what_is_not_a_run(tmp_path, capsys):
    assert rebuild.main([str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert rebuild.main([str(tmp_path)]) == 2
    assert "is not a run's output folder (no results.csv)" in capsys.readouterr().err
    out = fake_run.make(tmp_path / "out", n_images=1)
    assert rebuild.main([str(out / "results.csv")]) == 2  # a run's file for its folder (it said "no such folder")
    assert "results.csv: is a file, not a folder: give a run's output folder" in capsys.readouterr().err
    with runlock.RunLock(out):
        assert rebuild.main([str(out), "--no_progress"]) == 2
    assert "in use by another run" in capsys.readouterr().err


def test_report_command_says_which_images_it_cannot_redraw(tmp_path, capsys):
    out = fake_run.make(tmp_path / "out", n_images=2)
    shutil.rmtree(out / "curves")  # as after a run of an earlier version
    assert rebuild.main([str(out), "--no_progress"]) == 0
    assert "2 image(s) have no saved inputs, GFDM or curves" in capsys.readouterr().out
    assert (out / "report.html").is_file() and not list((out / "figures").glob("*.png"))


def test_report_command_on_a_merged_folder(tmp_path, capsys):
    a = fake_run.make(tmp_path / "a", n_images=2)
    b = fake_run.make(tmp_path / "b", n_images=4, seed=1)
    later = fake_run.image_names(4)[2:]  # b's last two images, moved into a
    rows = [line for line in (b / "results.csv").read_text().splitlines()[1:] if line.split(",")[0] in later]
    with (a / "results.csv").open("a") as f:
        f.write("\n".join(rows) + "\n")
    for folder in ("maps", "inputs", "gfdm", "curves"):
        for path in (b / folder).iterdir():
            if any(path.name.startswith(Path(n).stem) for n in later):
                shutil.copy(path, a / folder / path.name)
    (a / "curves" / f"{Path(later[1]).stem}.npz").unlink()  # one image without its curves
    assert rebuild.main([str(a), "--no_progress"]) == 0
    assert f"1 image(s) have no saved inputs, GFDM or curves (a run of an earlier version): their figures were not " \
           f"redrawn: {later[1]}" in capsys.readouterr().out
    page = (a / "report.html").read_text()
    assert all(f'id="fig-{Path(n).stem}"' in page for n in fake_run.image_names(3))
    assert f'id="fig-{Path(later[1]).stem}"' not in page and later[1] in page  # in the table, without a figure
    assert "| GRADCAM | 4 |" in (a / "summary.md").read_text()  # the tables recomputed over all four images


# --------------------------------------------------------------------------- a real run, rebuilt without the model
FAST = ["--rise_masks", "64", "--lime_samples", "32", "--step", "2000", "--no_progress", "--n_images", "2",
        "--explanation_method", "GRADCAM,RISE"]
REBUILT = ("report.html", "summary.md", "summary.csv", "comparisons.csv", "figures", "plots")


def _files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for name in REBUILT
            for p in ([out / name] if (out / name).is_file() else sorted((out / name).rglob("*"))) if p.is_file()}


@pytest.mark.parametrize("display_type,fmt", [("grid", "png"), ("singles", "pdf")])
def test_report_command_rebuilds_what_the_run_wrote_without_the_model(tmp_path, display_type, fmt):
    out = tmp_path / "run"
    args = FAST + ["--output_dir", str(out), "--display_type", display_type, "--figure_format", fmt]
    assert main.main(args) == 0
    before = _files(out)
    assert any(k.endswith(f".{fmt}") for k in before) and "plots/curves.png" in before
    for name in REBUILT:  # everything report.py makes, removed
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    code = ("import sys\nfrom xai_mexculture.render import rebuild\nrc = rebuild.main([sys.argv[1], '--no_progress'])\n"
            "loaded = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]\n"
            "print('loaded:', loaded)\nsys.exit(rc or (9 if loaded else 0))\n")
    res = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    after = _files(out)
    assert sorted(after) == sorted(before)
    differ = [k for k in before if before[k] != after[k]]
    assert not differ, differ[:5]


def test_the_curves_legend_stays_off_the_curves_with_eleven_methods():
    """13 rows (11 methods and 2 references): the legend, beside the panels, covered the curves."""
    from xai_mexculture import explainers
    names = explainers.names()[:11] + ["CENTER", "RANDOM"]
    assert len(names) == 13
    curves = {f"img{i}": {"Insertion": {n: np.linspace(0, 1, 5) for n in names},
                          "Deletion": {n: np.linspace(1, 0, 5) for n in names}} for i in range(3)}
    with style.rc():
        fig = plots.curves_figure(curves, names)
        renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else fig._get_renderer()
        legend = fig.legends[0].get_window_extent(renderer)
        assert len(fig.legends[0].get_texts()) == 13
        for ax in fig.axes:
            panel = ax.get_tightbbox(renderer)  # the axes with their tick labels and axis labels
            assert not legend.overlaps(panel), (legend, panel)
        figure = fig.bbox
        assert legend.x0 >= figure.x0 and legend.x1 <= figure.x1 and legend.y0 >= figure.y0  # inside the figure
