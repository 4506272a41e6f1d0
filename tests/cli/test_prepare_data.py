"""prepare_data.py on a fake MexCulture142 release made of the demo's files under new building
names, in the release's four folders (Images, Fixations, Density Maps, Scanpaths)."""
import csv
import os
from pathlib import Path

import pytest

import constants

from xai_mexculture.cli import prepare_data as prep
from xai_mexculture.core import data

ROOT = Path(__file__).resolve().parents[2]
PER_CLASS = 4  # fake buildings per class, two views each
FOLDERS = ("Images", "Fixations", "Density Maps", "Scanpaths")
MALFORMED_IMAGE = "Colonial_Broken_N_1.png"  # two parts before the view, not three
UNKNOWN_CLASS = "Gothic_Cathedral_Town_N_1.png"
EXTRA_FIXATIONS = "Modern_Ghost_Town_GazeFix_N_1.txt"  # fixations of no image
NO_SCANPATHS = "Modern_Fake000_Town_N_2"  # its scanpaths are left out of the release


def _link(src, dst):
    os.symlink(Path(src).resolve(), dst)


def make_release(root, per_class=PER_CLASS, folders=FOLDERS, no_gaze=False):
    """Buildings SSS_FakeBBB_Town, views 1 and 2 each a different demo image of the class, with the
    demo image's GFDM, fixations and scanpaths renamed; plus a malformed image name, an image of an
    unknown class, an extra fixation file, an image without scanpaths, and with `no_gaze` an image
    without any gaze file."""
    root = Path(root)
    dirs = dict(zip(("images", "fixations", "gfdm", "scanpaths"), (root / f for f in folders)))
    for d in dirs.values():
        d.mkdir(parents=True)
    by_class = {}
    for path in data.list_images(constants.DEMO_TEST_IMAGES):
        by_class.setdefault(data.class_name(path.name), []).append(path)
    for cls, sources in sorted(by_class.items()):
        for b in range(per_class):
            building = f"{cls}_Fake{b:03d}_Town"
            for view in (1, 2):
                src = sources[(b + view - 1) % len(sources)]
                base = src.stem[:-len("_N_1")]
                _link(src, dirs["images"] / f"{building}_N_{view}.png")
                _link(constants.DEMO_TEST_GFDM / f"{data.gfdm_stem(src.name)}.png",
                      dirs["gfdm"] / f"{building}_GFDM_N_{view}.png")
                _link(constants.DEMO_TEST_FIXATIONS / f"{data.fixation_stem(src.name)}.txt",
                      dirs["fixations"] / f"{building}_GazeFix_N_{view}.txt")
                if f"{building}_N_{view}" == NO_SCANPATHS:
                    continue
                for scan in constants.DEMO_TEST_SCANPATHS.glob(f"{base}_ScanPath_N_1_P_*.txt"):
                    k = scan.stem.rsplit("_P_", 1)[1]
                    _link(scan, dirs["scanpaths"] / f"{building}_ScanPath_N_{view}_P_{k}.txt")
    demo = data.list_images(constants.DEMO_TEST_IMAGES)[0]
    _link(demo, dirs["images"] / MALFORMED_IMAGE)
    _link(demo, dirs["images"] / UNKNOWN_CLASS)
    _link(constants.DEMO_TEST_FIXATIONS / f"{data.fixation_stem(demo.name)}.txt", dirs["fixations"] / EXTRA_FIXATIONS)
    (dirs["images"] / ".DS_Store").write_bytes(b"junk")  # hidden: not a problem
    if no_gaze:
        _link(demo, dirs["images"] / "Prehispanic_NoGaze_Town_N_1.png")
    return root


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("release") / "MexCulture142")


def prepare(release, out, *extra):
    return prep.main([str(release), "--output", str(out), *extra])


def _rows(out):
    return prep.read_split(out)


def _sides(rows):
    return {r["image"]: r["split"] for r in rows}


def test_the_table_lists_missing_extra_and_malformed_files(release):
    problems = prep.check_release(release)
    got = {(p.file, p.problem) for p in problems}
    assert got == {(f"Images/{MALFORMED_IMAGE}", prep.MALFORMED), (f"Images/{UNKNOWN_CLASS}", prep.MALFORMED),
                   (f"Fixations/{EXTRA_FIXATIONS}", prep.EXTRA), (f"Images/{NO_SCANPATHS}.png", prep.MISSING_SCANPATHS)}
    assert "unknown class 'Gothic'" in {p.file: p.detail for p in problems}[f"Images/{UNKNOWN_CLASS}"]
    rel = prep.Release(release)
    assert len(rel.images) == 3 * PER_CLASS * 2 and len(rel.gfdm) == len(rel.fixations) == len(rel.images)
    assert not rel.unusable()


def test_folders_are_found_whatever_their_case_and_a_missing_one_is_named(tmp_path):
    root = make_release(tmp_path / "r", per_class=1, folders=("IMAGES", "fixations", "density_maps", "Scan Paths"))
    assert {k: p.name for k, p in prep.find_folders(root).items()} == {
        "images": "IMAGES", "fixations": "fixations", "gfdm": "density_maps", "scanpaths": "Scan Paths"}
    _link(root / "IMAGES" / "Colonial_Fake000_Town_N_1.png", root / "IMAGES" / "Colonial_Fake000_Town_N_1.jpg")
    problems = {(p.file, p.problem) for p in prep.check_release(root)}
    assert ("IMAGES/Colonial_Fake000_Town_N_1.png", prep.DUPLICATE) in problems  # .jpg sorts first: kept
    (root / "Scan Paths").rename(root / "Gaze")
    with pytest.raises(prep.ReleaseError, match="no 'Scanpaths' folder"):
        prep.find_folders(root)
    assert prepare(root, tmp_path / "out") == 2 and not (tmp_path / "out").exists()


def test_an_image_without_gfdm_and_fixations_stops_with_status_2(tmp_path, capsys):
    root = make_release(tmp_path / "r", per_class=1, no_gaze=True)
    problems = prep.check_release(root)
    assert ("Images/Prehispanic_NoGaze_Town_N_1.png", prep.MISSING_BOTH) in {(p.file, p.problem) for p in problems}
    assert prepare(root, tmp_path / "out") == 2
    assert not (tmp_path / "out").exists()  # nothing written
    assert "Prehispanic_NoGaze_Town_N_1.png" in capsys.readouterr().out  # in the table printed first


def test_building_split_keeps_views_together_and_every_class_in_every_split(release, tmp_path):
    out = tmp_path / "out"
    assert prepare(release, out) == 0
    rows = _rows(out)
    names = [r["image"] for r in rows]
    assert len(names) == len(set(names)) == 3 * PER_CLASS * 2  # every image once
    assert MALFORMED_IMAGE not in names and UNKNOWN_CLASS not in names
    by_building = {}
    for r in rows:
        by_building.setdefault(r["building"], set()).add(r["split"])
        assert r["class"] == data.class_name(r["image"]) and r["image"].startswith(r["building"] + "_N_")
    assert all(len(s) == 1 for s in by_building.values())  # both views on one side
    for split in prep.SPLITS:
        assert {r["class"] for r in rows if r["split"] == split} == set(constants.CLASS_NAMES), split
        listed = sorted(r["image"] for r in rows if r["split"] == split)
        assert sorted(p.name for p in (out / f"images_{split}").iterdir()) == listed
    table = prep.counts([(r["image"], r["building"], r["class"], r["split"]) for r in rows])
    assert {table[c, "train"] for c in constants.CLASS_NAMES} == {(4, 2)}  # 4 buildings: 2 train, 1 val, 1 test
    assert {table[c, "test"] for c in constants.CLASS_NAMES} == {(2, 1)}
    # the gaze folders: main.py's pairing finds every file, and nothing of the left-out files
    samples = data.pair_samples(out / "images_test", out / "gazefixationsdensitymaps", out / "fixations")
    assert samples and all(s.gfdm_path and s.fixation_path for s in samples)
    assert not (out / "fixations" / EXTRA_FIXATIONS).exists()
    assert len(list((out / "scanpaths").iterdir())) == 10 * (len(rows) - 1)
    image = next((out / "images_train").iterdir())
    assert image.is_symlink() and image.resolve() == (release / "Images" / image.name).resolve()


def test_view_split_puts_the_two_views_on_different_sides(release, tmp_path):
    out = tmp_path / "out"
    assert prepare(release, out, "--split", "view") == 0
    rows = _rows(out)
    assert len(rows) == 3 * PER_CLASS * 2
    for r in rows:
        assert (r["split"] == "test") == r["image"].endswith("_N_2.png")
    by_building = {}
    for r in rows:
        by_building.setdefault(r["building"], set()).add(r["split"])
    assert all(len(s) == 2 and "test" in s for s in by_building.values())
    for split in prep.SPLITS:
        assert {r["class"] for r in rows if r["split"] == split} == set(constants.CLASS_NAMES), split
    rel = prep.Release(release)
    sides, notes = prep.split_by_view(rel.images, 0.15, 1, seed=0)
    assert all((sides[s] == "test") == (im.view == 1) for s, im in rel.images.items())
    assert any("seen in training" in n for n in notes)
    with pytest.raises(SystemExit):  # the test side is the view
        prep.parse_args([str(release), "--split", "view", "--test_fraction", "0.2"])


def test_copy_writes_files_and_an_existing_split_is_refused(release, tmp_path, capsys):
    out = tmp_path / "out"
    assert prepare(release, out, "--copy") == 0
    files = [p for d in ("images_train", "gazefixationsdensitymaps", "scanpaths") for p in (out / d).iterdir()]
    assert files and not any(p.is_symlink() for p in files) and all(p.is_file() for p in files)
    capsys.readouterr()
    assert prepare(release, out) == 2  # a split is there
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err
    user = out / "images_test" / "mine.png"
    user.write_bytes(b"user's")
    assert prepare(release, out, "--force") == 2  # a file it did not write, in a folder it writes
    assert user.exists()
    user.unlink()
    notes = out / "notes.txt"
    notes.write_text("mine")
    assert prepare(release, out, "--force", "--seed", "3") == 0  # replaced: links now, another split
    assert notes.read_text() == "mine"
    (out / prep.WRITTEN_LIST).unlink()  # a split.csv this command cannot tell its own: kept
    assert prepare(release, out, "--force") == 2 and (out / prep.SPLIT_CSV).exists()
    assert next((out / "images_train").iterdir()).is_symlink()
    assert len(prep.read_split(out)) == 3 * PER_CLASS * 2


def test_the_same_seed_gives_the_same_split_and_another_seed_another(release):
    rel = prep.Release(release)
    a, _ = prep.split_by_building(rel.images, 0.15, 0.2, seed=0)
    b, _ = prep.split_by_building(rel.images, 0.15, 0.2, seed=0)
    c, _ = prep.split_by_building(rel.images, 0.15, 0.2, seed=1)
    assert a == b and a != c
    va, _ = prep.split_by_view(rel.images, 0.3, 2, seed=0)
    assert va == prep.split_by_view(rel.images, 0.3, 2, seed=0)[0] != prep.split_by_view(rel.images, 0.3, 2, seed=5)[0]


def test_too_few_buildings_are_said(release):
    rel = prep.Release(release)
    few = {s: im for s, im in rel.images.items() if im.cls != "Modern" or im.building == "Modern_Fake000_Town"}
    sides, notes = prep.split_by_building(few, 0.15, 0.2, seed=0)
    assert {sides[s] for s, im in few.items() if im.cls == "Modern"} == {"train"}
    assert any(n.startswith("Modern: 1 building, too few") for n in notes)


def test_bad_flags_are_usage_errors(release, capsys):
    for extra, said in ((["--val_fraction", "0"], "--val_fraction must be in (0, 1)"),
                        (["--test_fraction", "1.2"], "--test_fraction must be in (0, 1)"),
                        (["--val_fraction", "0.5", "--test_fraction", "0.5"], "must be < 1"),
                        (["--seed", "-1"], "--seed must be >= 0")):
        with pytest.raises(SystemExit) as exit_info:
            prep.parse_args([str(release), *extra])
        assert exit_info.value.code == 2 and said in capsys.readouterr().err
    text = " ".join(prep.build_parser().format_help().split())
    assert "(default: building)" in text and "(default: 0.15)" in text and "(default: 0.2)" in text


def test_prepared_release_trains_and_runs_with_the_human_row(release, tmp_path, capsys):
    """The printed next commands, made tiny, on the prepared layout: train.py on images_train
    validated on images_val, then main.py on images_test with the GFDMs, fixations and scanpaths
    (their arguments in this process: the scripts call train.train(parse_args()) and main.main)."""
    from xai_mexculture.cli import main
    from xai_mexculture.cli import train
    out, model, run = tmp_path / "prepared", tmp_path / "m.keras", tmp_path / "run"
    assert prepare(release, out) == 0
    train_cmd, main_cmd = prep.next_commands(out, model)
    assert train_cmd[:2] == ["python", "train.py"] and main_cmd[:2] == ["python", "main.py"]
    assert (ROOT / "train.py").is_file() and (ROOT / "main.py").is_file()
    capsys.readouterr()
    train.train(train.parse_args(train_cmd[2:] + [
        "--backbone", "tiny", "--tiny_widths", "8", "--weights", "none", "--epochs", "1", "--fine_tune_epochs", "0",
        "--image_size", "32", "--batch_size", "16", "--verbose", "0"]))
    assert "validation accuracy" in capsys.readouterr().out and model.is_file()
    assert main.main(main_cmd[2:] + [
        "--explanation_method", "GRADCAM", "--n_images", "2", "--references", "none", "--step", "2000",
        "--display_type", "none", "--host_workers", "0", "--no_progress", "--output_dir", str(run)]) == 0
    with (run / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    test_images = sorted(r["image"] for r in _rows(out) if r["split"] == "test")[:2]
    assert sorted({r["image"] for r in rows}) == test_images
    for image in test_images:
        methods = {r["method"] for r in rows if r["image"] == image}
        assert methods == {"GRADCAM", "HUMAN"}, (image, methods)
    human = [r for r in rows if r["method"] == "HUMAN"]
    assert all(float(r["NSS_loo"]) > 0 for r in human)


def test_the_readme_shows_the_commands_printed():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The real MexCulture142"):]
    block = section[section.index("```bash\n") + 8:section.index("```", section.index("```bash\n") + 8)]
    lines = " ".join(block.replace("\\\n", " ").split("\n"))
    text = " ".join(lines.split())
    assert "python prepare_data.py MexCulture142 --output data/mexculture142" in text
    for command in prep.next_commands("data/mexculture142"):
        assert " ".join(command) in text, command
