import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import constants

from xai_mexculture import explainers
from xai_mexculture.cli import main
from xai_mexculture.render import figures
from xai_mexculture.results import tables
from xai_mexculture.run import exits
from xai_mexculture.run import image_stage
from xai_mexculture.run import options

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--rise_masks", "64", "--lime_samples", "32", "--step", "2000", "--no_progress", "--references", "none"]
OPT_IN = {"MaxSensitivity", "ROAD_MoRF", "ROAD_LeRF"}  # only with --robustness / --road


@pytest.fixture()
def folders(tmp_path):
    """Two good demo images, a corrupt one, one without GFDM and one with an unknown class."""
    imgs, gfdms, fixs = tmp_path / "images", tmp_path / "gfdm", tmp_path / "fix"
    for d in (imgs, gfdms, fixs):
        d.mkdir()
    good = ["Colonial_DemoTest001_Synthetic_N_1", "Prehispanic_DemoTest002_Synthetic_N_1"]
    for stem in good:
        shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}.png", imgs)
        gstem = stem.replace("_N_1", "_GFDM_N_1")
        shutil.copy(constants.DEMO_TEST_GFDM / f"{gstem}.png", gfdms)
        fstem = stem.replace("_N_1", "_GazeFix_N_1")
        shutil.copy(constants.DEMO_TEST_FIXATIONS / f"{fstem}.txt", fixs)
    (imgs / "Colonial_Broken_X_N_1.png").write_bytes(b"\x89PNG not really")
    shutil.copy(constants.DEMO_TEST_GFDM / "Colonial_DemoTest001_Synthetic_GFDM_N_1.png",
                gfdms / "Colonial_Broken_X_GFDM_N_1.png")
    shutil.copy(constants.DEMO_TEST_IMAGES / "Modern_DemoTest001_Synthetic_N_1.png",
                imgs / "Modern_NoGaze_X_N_1.png")
    shutil.copy(constants.DEMO_TEST_IMAGES / "Modern_DemoTest001_Synthetic_N_1.png",
                imgs / "Gothic_Cathedral_X_N_1.png")
    shutil.copy(constants.DEMO_TEST_GFDM / "Modern_DemoTest001_Synthetic_GFDM_N_1.png",
                gfdms / "Gothic_Cathedral_X_GFDM_N_1.png")
    (imgs / ".DS_Store").write_bytes(b"junk")
    return dict(imgs=imgs, gfdms=gfdms, fixs=fixs, out=tmp_path / "out", good=good)


def _args(f, *extra):
    return ["--test_images_folder_path", str(f["imgs"]), "--test_gdfm_folder_path", str(f["gfdms"]),
            "--fixations_folder_path", str(f["fixs"]), "--output_dir", str(f["out"])] + FAST + list(extra)


def _errors(out):
    with (out / "errors.csv").open() as fh:
        return {r["image"]: r["reason"] for r in csv.DictReader(fh)}


def test_end_to_end_outputs_and_skipped_images(folders, capsys, caplog):
    with caplog.at_level("ERROR", logger="xai_mexculture"):
        assert main.main(_args(folders, "--references", "CENTER,RANDOM")) == exits.EXIT_PARTIAL
    out = folders["out"]
    rows = tables.read_rows(out / "results.csv")
    assert sorted({r["image"] for r in rows}) == [g + ".png" for g in folders["good"]]
    assert len(rows) == 2 * (4 + 2)  # the four methods and the references CENTER and RANDOM
    assert [r["method"] for r in rows[:6]] == list(explainers.default_names()) + ["CENTER", "RANDOM"]
    no_scanpaths = {"NSS_loo", "AUC_Judd_loo", "PCC_split", "SIM_split", "KLD_split", "NSS_norm", "AUC_Judd_norm"}
    for r in rows:
        for metric in tables.metric_names():  # all but the opt-in metrics and the scanpath ones
            expected = metric not in OPT_IN and metric not in no_scanpaths
            assert np.isfinite(r[metric]) == expected, (r["method"], metric)
        assert -1 <= r["PCC"] <= 1 and 0 <= r["SIM"] <= 1 and 0 <= r["Insertion"] <= 1
    skipped = _errors(out)
    assert set(skipped) == {"Colonial_Broken_X_N_1.png", "Modern_NoGaze_X_N_1.png", "Gothic_Cathedral_X_N_1.png"}
    assert "cannot be read" in skipped["Colonial_Broken_X_N_1.png"]
    assert "no GFDM" in skipped["Modern_NoGaze_X_N_1.png"]
    assert "unknown class prefix" in skipped["Gothic_Cathedral_X_N_1.png"]
    # each reason begins with the file it names (it began "ValueError: ")
    assert all(reason.split(": ")[0].endswith(name) for name, reason in skipped.items()), skipped
    logged = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped"))
    assert [m.split(": ")[0] for m in logged] == [f"skipped {name}" for name in sorted(skipped)]  # one form
    with (out / "errors.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 3
    for name in ("results.csv", "errors.csv", "summary.csv", "comparisons.csv"):  # one line ending (errors.csv had CRLF)
        assert b"\r" not in (out / name).read_bytes(), name
    md = (out / "summary.md").read_text()
    for method in explainers.default_names():
        assert f"| {method} | 2 |" in md
    assert "| *CENTER* (reference) | 2 |" in md and "| *RANDOM* (reference) | 2 |" in md
    for metric in tables.metric_names():
        assert (metric in md) == (metric not in OPT_IN and metric not in no_scanpaths), metric
    with (out / "summary.csv").open() as fh:
        srows = list(csv.DictReader(fh))
    assert [r["method"] for r in srows] == list(explainers.default_names()) + ["CENTER", "RANDOM"]
    assert all(float(r["PCC_mean"]) == pytest.approx(np.mean([x["PCC"] for x in rows if x["method"] == r["method"]]))
               for r in srows)
    with (out / "comparisons.csv").open() as fh:
        comps = list(csv.DictReader(fh))
    assert len(comps) == (len(tables.metric_names()) - len(OPT_IN) - len(no_scanpaths)) * 6  # methods only
    assert not {c["method_a"] for c in comps} & {"CENTER", "RANDOM"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["rise_masks"] == 64 and len(manifest["model_sha256"]) == 64
    assert "keras" in manifest["packages"]
    assert len(list((out / "maps").glob("*.npy"))) == 2 * 6
    sal = np.load(out / "maps" / f"{folders['good'][0]}_RISE.npy")
    assert sal.shape == (224, 224) and sal.max() == pytest.approx(1.0)
    assert len(list((out / "figures").glob("*_grid.png"))) == 2
    for g in folders["good"]:  # what report.py needs to redraw the figures without the model
        assert (out / "inputs" / f"{g}.png").is_file() and (out / "gfdm" / f"{g}.png").is_file()
        assert set(np.load(out / "curves" / f"{g}.npz").files) == {
            f"{m}__{c}" for m in list(explainers.default_names()) + ["CENTER", "RANDOM"] for c in ("Insertion", "Deletion")}
    assert (out / "report.html").is_file() and (out / "plots" / "box_PCC.png").is_file()
    printed = capsys.readouterr().out
    assert "Colonial_Broken_X_N_1.png" in printed and "| GRADCAM |" in printed


def test_resume_does_not_recompute(folders, monkeypatch):
    main.main(_args(folders, "--explanation_method", "GRADCAM"))
    before = (folders["out"] / "results.csv").read_text()
    calls = []
    real = image_stage.explain
    monkeypatch.setattr(image_stage, "explain", lambda *a, **k: calls.append(a[0].name) or real(*a, **k))
    main.main(_args(folders, "--explanation_method", "GRADCAM", "--resume"))
    assert calls == []
    assert (folders["out"] / "results.csv").read_text() == before
    # drop one image's rows: resume recomputes that image only
    lines = before.splitlines(keepends=True)
    (folders["out"] / "results.csv").write_text("".join(l for l in lines if folders["good"][1] not in l))
    main.main(_args(folders, "--explanation_method", "GRADCAM", "--resume"))
    assert calls == ["GRADCAM"]
    assert len(tables.read_rows(folders["out"] / "results.csv")) == 2
    page = (folders["out"] / "report.html").read_text()  # the page of the resumed run shows both images
    assert all(f'src="figures/{g}_grid.png"' in page for g in folders["good"])


def test_resume_redoes_an_image_whose_reference_rows_are_torn_or_missing(folders, monkeypatch):
    """The reference rows come last in an image's rows: a kill while writing them tore the HUMAN
    row (or left it out) and --resume took the image as done, so HUMAN lost that image."""
    with_refs = ("--explanation_method", "GRADCAM", "--references", "CENTER,RANDOM",
                 "--scanpaths_folder_path", str(constants.DEMO_TEST_SCANPATHS), "--display_type", "none")
    assert main.main(_args(folders, *with_refs)) == 3  # the fixture's broken images
    path = folders["out"] / "results.csv"
    whole = path.read_text()
    good = [f"{g}.png" for g in folders["good"]]
    expected = sorted((g, m) for g in good for m in ("GRADCAM", "CENTER", "RANDOM", "HUMAN"))
    assert sorted((r["image"], r["method"]) for r in tables.read_rows(path)) == expected
    calls = []
    real = image_stage.explain
    monkeypatch.setattr(image_stage, "explain", lambda *a, **k: calls.append(a[0].name) or real(*a, **k))
    last = whole.splitlines(keepends=True)[-1]
    assert ",HUMAN," in last and good[1] in last
    other = next(line for line in whole.splitlines(keepends=True) if good[0] in line and ",RANDOM," in line)
    for damaged in (whole[:-40],  # the last row (the second image's HUMAN) torn
                    whole.replace(other, "")):  # the first image's RANDOM row missing
        path.write_text(damaged)
        calls.clear()
        main.main(_args(folders, *with_refs, "--resume"))
        assert calls == ["GRADCAM"]  # that image only
        rows = tables.read_rows(path)
        assert sorted((r["image"], r["method"]) for r in rows) == expected  # each row once
    assert sorted(path.read_text().splitlines()) == sorted(whole.splitlines())  # the same numbers


def test_a_gfdm_of_another_size_gets_the_fixations_on_its_grid(tmp_path):
    """Fixations are in image pixels; NSS and AUC-Judd are computed on the GFDM's grid. With the
    GFDM stored at half size the fixations were not moved: NSS 2.78 -> -0.40, AUC-Judd 0.87 -> 0.48."""
    import cv2
    stem = "Colonial_DemoTest001_Synthetic"
    results = {}
    for scale in (1, 2):
        imgs, gfdms, fixs = (tmp_path / f"{kind}{scale}" for kind in ("img", "gfdm", "fix"))
        for d in (imgs, gfdms, fixs):
            d.mkdir()
        shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}_N_1.png", imgs)
        shutil.copy(constants.DEMO_TEST_FIXATIONS / f"{stem}_GazeFix_N_1.txt", fixs)
        gfdm = cv2.imread(str(constants.DEMO_TEST_GFDM / f"{stem}_GFDM_N_1.png"), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(gfdms / f"{stem}_GFDM_N_1.png"),
                    cv2.resize(gfdm, (gfdm.shape[1] // scale, gfdm.shape[0] // scale), interpolation=cv2.INTER_AREA))
        out = tmp_path / f"out{scale}"
        assert main.main(["--test_images_folder_path", str(imgs), "--test_gdfm_folder_path", str(gfdms),
                          "--fixations_folder_path", str(fixs), "--output_dir", str(out), "--explanation_method",
                          "GRADCAM", "--display_type", "none", "--no_progress", "--references", "none"]) == 0
        results[scale] = tables.read_rows(out / "results.csv")[0]
    full, half = results[1], results[2]
    assert full["NSS"] > 1.5 and full["AUC_Judd"] > 0.8  # the demo's Grad-CAM looks where the observers did
    assert half["NSS"] == pytest.approx(full["NSS"], rel=0.15)
    assert half["AUC_Judd"] == pytest.approx(full["AUC_Judd"], abs=0.03)
    assert half["PCC"] == pytest.approx(full["PCC"], abs=0.02)


def test_resume_refuses_changed_numbers(folders, capsys):
    def args(*extra):  # the rows and the tables: no figure needed
        return _args(folders, "--display_type", "none", *extra)
    main.main(args("--explanation_method", "RISE,LIME"))
    capsys.readouterr()
    assert main.main(args("--explanation_method", "RISE,LIME", "--resume", "--rise_masks", "128")) == 2
    assert "--rise_masks 64 -> 128" in capsys.readouterr().err
    assert main.main(args("--explanation_method", "RISE,LIME", "--resume", "--step", "1000")) == 2
    assert "--step 2000 -> 1000" in capsys.readouterr().err
    before = (folders["out"] / "results.csv").read_text()
    # --lime_features does not change the numbers, --batch_size neither: resuming is fine
    main.main(args("--explanation_method", "RISE,LIME", "--resume", "--lime_features", "3",
                    "--batch_size", "16"))
    assert (folders["out"] / "results.csv").read_text() == before
    # a method left out is no change of its parameters; they stay recorded for when it comes back
    assert main.main(args("--explanation_method", "LIME", "--resume")) == exits.EXIT_PARTIAL
    assert "differ" not in capsys.readouterr().err
    assert "| RISE | 2 |" in (folders["out"] / "summary.md").read_text()  # still in the tables
    assert main.main(args("--explanation_method", "RISE,LIME", "--resume", "--rise_masks", "128")) == 2
    assert "these parameters differ from the earlier run, so its rows cannot be mixed with new ones: " \
           "--rise_masks 64 -> 128" in capsys.readouterr().err


def test_target_predicted_explains_images_of_unknown_class(folders):
    main.main(_args(folders, "--explanation_method", "GRADCAM", "--target", "predicted", "--display_type", "none"))
    rows = tables.read_rows(folders["out"] / "results.csv")
    gothic = [r for r in rows if r["image"] == "Gothic_Cathedral_X_N_1.png"]
    assert len(gothic) == 1 and gothic[0]["true_class"] == ""
    assert gothic[0]["target_class"] == gothic[0]["predicted_class"] == "Modern"


def test_singles_and_show_without_display(folders, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    main.main(_args(folders, "--explanation_method", "FEM", "--display_type", "singles", "--show",
                    "--n_images", "2"))  # the first (sorted) is the corrupt one
    panels = sorted(p.name for p in (folders["out"] / "figures" / folders["good"][0]).glob("*.png"))
    assert panels == sorted(["input.png", "gfdm.png"] + [f"FEM_{p}.png" for p in figures.panel_names()])
    page = (folders["out"] / "report.html").read_text()
    assert f'figures/{folders["good"][0]}/FEM_map.png' in page


def test_invalid_flags_fail_at_once(folders, tmp_path, capsys):
    with pytest.raises(SystemExit):
        options.parse_args(["--explanation_method", "SHAP"])
    with pytest.raises(SystemExit):
        options.parse_args(["--test_images_folder_path", str(tmp_path / "missing")])
    assert "missing: no such folder" in capsys.readouterr().err
    bad_model = tmp_path / "bad.keras"
    bad_model.write_bytes(b"not a zip")
    assert main.main(_args(folders, "--model_path", str(bad_model))) == 2
    assert "bad.keras: not a Keras archive" in capsys.readouterr().err
    cut = tmp_path / "cut.keras"  # an interrupted copy (it was "a binary file of another kind")
    cut.write_bytes(constants.DEMO_MODEL.read_bytes()[:5000])
    assert main.main(_args(folders, "--model_path", str(cut))) == 2
    assert "cut.keras: not a Keras archive (a .keras file is a zip archive); it is a damaged zip archive" in \
        capsys.readouterr().err
    # a folder (a SavedModel, say): refused before any output folder is made, so the same command
    # with a .keras file then runs in that folder
    saved_model = tmp_path / "saved_model"
    saved_model.mkdir()
    with pytest.raises(SystemExit):
        options.parse_args(_args(folders, "--model_path", str(saved_model)))
    assert "saved_model: is a folder, not a .keras file" in capsys.readouterr().err
    assert not folders["out"].exists()
    with pytest.raises(SystemExit):  # each image failed with "expected non-negative integer"
        options.parse_args(_args(folders, "--seed", "-1"))
    assert "--seed must be >= 0, not -1" in capsys.readouterr().err
    # figures chosen for a run that draws none: said, not silently nothing drawn
    with pytest.raises(SystemExit):
        options.parse_args(_args(folders, "--figures", "first:1", "--display_type", "none"))
    assert "--figures first:1 chooses images for figures, but --display_type none" in capsys.readouterr().err


def test_an_unusable_place_or_environment_is_a_usage_error(folders, tmp_path, capsys):
    """Each was a traceback (exit 1), an "internal error" (exit 4) or a wait of minutes."""
    assert main.main(_args(folders, "--output_dir", "/proc/xai")) == 2  # mkdir: FileNotFoundError
    assert "--output_dir /proc/xai: cannot be used as a folder" in capsys.readouterr().err
    from xai_mexculture.run import merge
    assert merge.main([str(tmp_path), "--output_dir", "/proc/xai"]) == 2
    assert "--output_dir /proc/xai: cannot be used as a folder" in capsys.readouterr().err
    for address in ("127.0.0.1:1", "ray://127.0.0.1:1"):  # nothing listens on port 1
        with pytest.raises(SystemExit):
            options.parse_args(["--ray", address])
        assert f"--ray {address}: no Ray cluster answers there" in capsys.readouterr().err
    env = dict(os.environ, KERAS_BACKEND="torch")
    res = subprocess.run([sys.executable, "main.py", "--n_images", "1", "--output_dir", str(tmp_path / "torch")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 2 and "KERAS_BACKEND=torch: this tool runs on tensorflow or jax" in res.stderr, res.stderr
    assert not (tmp_path / "torch").exists()


def test_command_line_default_data_and_model(tmp_path):
    """`python main.py` on the bundled demo data and model (parameters shrunk to keep tests fast)."""
    res = subprocess.run([sys.executable, "main.py", "--n_images", "3", "--output_dir", str(tmp_path),
                          "--display_type", "none"] + FAST, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "accuracy: 3/3" in res.stdout
    rows = tables.read_rows(tmp_path / "results.csv")
    # the bundled scanpaths (10 simulated observers) add the human ceiling, one HUMAN row per image
    methods = [r for r in rows if r["method"] != "HUMAN"]
    assert len(methods) == 12 and all(np.isfinite(r["NSS"]) for r in methods)  # demo fixations are used
    assert all(np.isfinite(r["NSS_loo"]) and np.isfinite(r["AUC_Judd_norm"]) for r in methods)
    human = [r for r in rows if r["method"] == "HUMAN"]
    assert len(human) == 3
    for h in human:  # on the demo the observers agree with each other better than any method does
        assert h["NSS_loo"] > max(m["NSS_loo"] for m in methods if m["image"] == h["image"])


def test_help_epilog_names_the_flags_of_a_practical_cpu_run_and_only_real_ones():
    """The --help epilog says which flags make a CPU run practical; every flag it names is one of the
    parser's, so the text cannot drift from the flags."""
    import re
    parser = options.build_parser()
    text = " ".join(parser.format_help().split())
    epilog = " ".join(parser.epilog.split())
    assert epilog in text
    named = set(re.findall(r"--[a-z][a-z0-9_]*", epilog))
    assert {"--rise_masks", "--lime_samples", "--step", "--n_images", "--explanation_method"} <= named
    known = {flag for action in parser._actions for flag in action.option_strings}
    assert named <= known, named - known
    # the practical combination it gives is one the parser takes
    practical = re.search(r"--rise_masks \d+ --lime_samples \d+ --step \d+", epilog)
    assert practical, epilog
    args = parser.parse_args(practical.group(0).split())
    assert args.rise_masks < constants.RISE_N_MASKS and args.lime_samples < constants.LIME_NUM_SAMPLES
    assert args.step > constants.STEP
