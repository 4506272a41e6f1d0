"""The run plots (plots.py): box plots, mean curves with t-interval bands, PCC against Deletion."""
from pathlib import Path

import fake_run
import numpy as np
import pytest

from xai_mexculture.render import plots
from xai_mexculture.render import rebuild
from xai_mexculture.render import style
from xai_mexculture.results import tables


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
