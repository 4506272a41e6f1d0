"""Prepare the MexCulture142 release for train.py and main.py: check it, split it, lay it out.

The release (https://github.com/montoyaobeso/mexculture142) has four folders, found whatever their
case and spacing (`Density Maps`, `density_maps`, `DENSITY MAPS`), files also in their subfolders:
    Images        SSS_XXX_YYY_N_#.png              (284 images: 142 buildings, views # = 1 and 2)
    Fixations     SSS_XXX_YYY_GazeFix_N_#.txt
    Density Maps  SSS_XXX_YYY_GFDM_N_#.png
    Scanpaths     SSS_XXX_YYY_ScanPath_N_#_P_k.txt (participant k)
SSS is the style (the class: Colonial, Modern, Prehispanic, any case) and SSS_XXX_YYY the building.

Every image is checked for its GFDM, fixations and scanpaths, as main.py pairs them (core/data.py,
metrics/scanpaths.py), and every name against the pattern; a table lists what is missing, extra (a gaze file
of no image) or malformed (another name, an unknown style). An image with neither GFDM nor
fixations cannot be evaluated: the table, then exit status 2, and nothing is written. Otherwise the
problems are warnings: malformed and extra files are left out, the rest is laid out in OUTPUT:
    images_train/ images_val/ images_test/                   the split images
    gazefixationsdensitymaps/ fixations/ scanpaths/          the gaze files of those images
    split.csv                                                image, building, class, split
as symbolic links to the release (`--copy`: copies), with prepared_files.txt listing what was written
(what `--force` replaces; no other file is deleted).

Splits, seeded by --seed (the same seed, the same split):
    --split building  both views of a building on one side; per class, --test_fraction and
                      --val_fraction of its buildings in test and val (at least one each when the class
                      has 3 buildings or more), the others in train;
    --split view      view --test_view of every building in test, the other view in train, except the
                      buildings of --val_fraction (per class) whose training view goes to val, as in the
                      lab report: the test buildings are then seen in training (their other view).

    python prepare_data.py MexCulture142_release --output data/mexculture142
    python prepare_data.py MexCulture142_release --output data/mexculture142_views --split view --copy

Exit status: 0 done (with warnings, if any); 2 invalid arguments, a release folder missing, an
image with neither GFDM nor fixations, no usable image, or an output folder that already holds a
split (add --force) or files this command did not write.
"""
import csv
import os
import re
import shlex
import shutil
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.core import data
from xai_mexculture.core import parsers

# The release's four folders: (key, published name). Found by their name without case, spaces,
# underscores or hyphens.
RELEASE_FOLDERS = (("images", "Images"), ("fixations", "Fixations"), ("gfdm", "Density Maps"),
                   ("scanpaths", "Scanpaths"))
# The output layout: the demo's folder names, which main.py's help and the README use.
OUT_GAZE = {"gfdm": constants.DEMO_TEST_GFDM.name, "fixations": constants.DEMO_TEST_FIXATIONS.name,
            "scanpaths": constants.DEMO_TEST_SCANPATHS.name}
SPLITS = ("train", "val", "test")
OUT_IMAGES = {s: f"images_{s}" for s in SPLITS}
SPLIT_CSV = "split.csv"
WRITTEN_LIST = "prepared_files.txt"
SPLIT_COLUMNS = ("image", "building", "class", "split")
DEFAULT_VAL_FRACTION = 0.15
DEFAULT_TEST_FRACTION = 0.2
_BUILDING = r"(?P<building>(?P<style>[^_]+)_[^_]+_[^_]+)"
_VIEW = r"N_(?P<view>[12])"
PATTERNS = {
    "images": re.compile(rf"^{_BUILDING}_{_VIEW}$"),
    "gfdm": re.compile(rf"^{_BUILDING}_GFDM_{_VIEW}$"),
    "fixations": re.compile(rf"^{_BUILDING}_GazeFix_{_VIEW}$"),
    "scanpaths": re.compile(rf"^{_BUILDING}_ScanPath_{_VIEW}_P_(?P<participant>[A-Za-z0-9]+)$"),
}
SHOWN_PATTERNS = {"images": "SSS_XXX_YYY_N_#", "gfdm": "SSS_XXX_YYY_GFDM_N_#",
                  "fixations": "SSS_XXX_YYY_GazeFix_N_#", "scanpaths": "SSS_XXX_YYY_ScanPath_N_#_P_k"}
# The extensions main.py reads: images and GFDMs as data.list_images / data._index_by_stem (any
# case), fixations as data._index_by_stem (.txt, any case), scanpaths as scanpaths.read_folder (*.txt).
EXTENSIONS = {"images": constants.IMAGE_EXTENSIONS, "gfdm": constants.IMAGE_EXTENSIONS,
              "fixations": (".txt",), "scanpaths": (".txt",)}

# The problems of the table.
MISSING_BOTH = "missing GFDM and fixations"  # the only error: the image cannot be evaluated
MISSING_GFDM = "missing GFDM"
MISSING_FIXATIONS = "missing fixations"
MISSING_SCANPATHS = "missing scanpaths"
EXTRA = "extra"
MALFORMED = "malformed"
DUPLICATE = "duplicate"
Problem = namedtuple("Problem", "file problem detail")
Image = namedtuple("Image", "path stem building cls view")


class ReleaseError(Exception):
    """A release that cannot be prepared (a folder missing, no image): one line for the user."""


# --------------------------------------------------------------------------- reading the release
def _key(name):
    return re.sub(r"[\s_\-]+", "", name).lower()


def find_folders(release):
    """{key: Path} of the release's four folders, matched by name whatever their case, spaces,
    underscores and hyphens; a ReleaseError names a folder that is missing (or found twice)."""
    release = Path(release)
    if not release.is_dir():
        raise ReleaseError(f"{release}: no such folder")
    subfolders = sorted(p for p in release.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = {}
    for key, published in RELEASE_FOLDERS:
        matches = [p for p in subfolders if _key(p.name) == _key(published)]
        if not matches:
            seen = ", ".join(p.name for p in subfolders) or "no folder"
            raise ReleaseError(f"{release}: no '{published}' folder (any case, with or without spaces; "
                               f"found: {seen})")
        if len(matches) > 1:
            raise ReleaseError(f"{release}: {len(matches)} folders for '{published}': "
                               + ", ".join(p.name for p in matches))
        found[key] = matches[0]
    return found


def _files(folder):
    """Files under a folder and its subfolders, sorted, hidden files and folders left out."""
    out = []
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(path)
    return out


def _parse(kind, path, class_names):
    """(match, None) for a well-formed name of a `kind` folder, else (None, why)."""
    if path.suffix.lower() not in EXTENSIONS[kind] or (kind == "scanpaths" and path.suffix != ".txt"):
        return None, f"not a {'/'.join(EXTENSIONS[kind]) if kind != 'scanpaths' else '.txt'} file"
    match = PATTERNS[kind].match(path.stem)
    if match is None:
        return None, f"not {SHOWN_PATTERNS[kind]}{'.txt' if EXTENSIONS[kind] == ('.txt',) else ''}"
    if not data.class_name(match["style"], class_names):
        return None, f"unknown class '{match['style']}' (expected one of {', '.join(class_names)})"
    return match, None


class Release:
    """The release's files, paired as main.py pairs them, and the problems found.

    images: {image stem: Image} (well-formed names only); gfdm, fixations: {image stem: Path};
    scanpaths: {image stem: [Path, ...]}; problems: [Problem(file, problem, detail)], file relative
    to the release folder."""

    def __init__(self, release, class_names=constants.CLASS_NAMES):
        self.root = Path(release)
        self.folders = find_folders(release)
        self.problems = []
        self.images, self.gfdm, self.fixations, self.scanpaths = {}, {}, {}, {}
        gaze = {}  # kind: [(image stem, path)]
        for kind, _ in RELEASE_FOLDERS:
            seen = {}
            for path in _files(self.folders[kind]):
                match, why = _parse(kind, path, class_names)
                if match is None:
                    self._add(path, MALFORMED, why)
                    continue
                stem = f"{match['building']}_N_{match['view']}"
                key = path.stem  # what main.py matches (a stem), one file per stem
                if key in seen:
                    self._add(path, DUPLICATE, f"the same name as {self._rel(seen[key])}, left out")
                    continue
                seen[key] = path
                if kind == "images":
                    self.images[stem] = Image(path, stem, match["building"],
                                              data.class_name(match["style"], class_names), int(match["view"]))
                else:
                    gaze.setdefault(kind, []).append((stem, path))
        for kind in ("gfdm", "fixations", "scanpaths"):
            for stem, path in gaze.get(kind, []):
                if stem not in self.images:
                    self._add(path, EXTRA, f"no image {stem}.*, left out")
                elif kind == "scanpaths":
                    self.scanpaths.setdefault(stem, []).append(path)
                else:
                    getattr(self, kind)[stem] = path
        for stem, image in sorted(self.images.items()):
            # main.py looks for these exact stems (data.gfdm_stem, data.fixation_stem)
            gfdm, fix = self.gfdm.get(stem), self.fixations.get(stem)
            assert gfdm is None or gfdm.stem == data.gfdm_stem(image.path.name)
            assert fix is None or fix.stem == data.fixation_stem(image.path.name)
            if gfdm is None and fix is None:
                self._add(image.path, MISSING_BOTH,
                          f"no {data.gfdm_stem(stem)}.png nor {data.fixation_stem(stem)}.txt: cannot be evaluated")
            elif gfdm is None:
                self._add(image.path, MISSING_GFDM,
                          f"no {data.gfdm_stem(stem)}.png: main.py builds it from the fixations")
            elif fix is None:
                self._add(image.path, MISSING_FIXATIONS, f"no {data.fixation_stem(stem)}.txt: no NSS, AUC-Judd, sAUC")
            n = len(self.scanpaths.get(stem, []))
            if n < 2:
                self._add(image.path, MISSING_SCANPATHS,
                          f"{n} scanpath file{'s' if n != 1 else ''} (HUMAN needs 2 participants or more)")
        order = {p: i for i, p in enumerate((MISSING_BOTH, MISSING_GFDM, MISSING_FIXATIONS, MISSING_SCANPATHS,
                                             EXTRA, MALFORMED, DUPLICATE))}
        self.problems.sort(key=lambda p: (order[p.problem], p.file))

    def _rel(self, path):
        return Path(path).relative_to(self.root).as_posix()

    def _add(self, path, problem, detail):
        self.problems.append(Problem(self._rel(path), problem, detail))

    def unusable(self):
        """The images that cannot be evaluated (neither GFDM nor fixations)."""
        return [p.file for p in self.problems if p.problem == MISSING_BOTH]

    def gaze_files(self, stem):
        """(output folder key, path) of every gaze file of an image."""
        out = [("gfdm", self.gfdm[stem])] if stem in self.gfdm else []
        out += [("fixations", self.fixations[stem])] if stem in self.fixations else []
        return out + [("scanpaths", p) for p in self.scanpaths.get(stem, [])]


def check_release(release, class_names=constants.CLASS_NAMES):
    """The table of a release's problems: [Problem(file, problem, detail)], file relative to the
    release, problem one of MISSING_BOTH (an error), MISSING_GFDM, MISSING_FIXATIONS,
    MISSING_SCANPATHS, EXTRA, MALFORMED, DUPLICATE."""
    return Release(release, class_names).problems


# --------------------------------------------------------------------------- splits
def _n_split(n, fraction):
    return int(np.floor(n * fraction + 0.5))


def _take(rng, buildings, counts):
    """Shuffle `buildings` (sorted first) and cut them into consecutive groups of `counts`."""
    order = [buildings[i] for i in rng.permutation(len(buildings))]
    out, start = [], 0
    for n in counts:
        out.append(order[start:start + n])
        start += n
    return out


def _by_class(images):
    """{class: sorted buildings}."""
    out = {}
    for image in images.values():
        out.setdefault(image.cls, set()).add(image.building)
    return {cls: sorted(b) for cls, b in sorted(out.items())}


def split_by_building(images, val_fraction, test_fraction, seed):
    """({image stem: split}, notes): both views of a building on one side; per class, round(n x
    fraction) buildings in test and in val, at least one each when the class has 3 buildings or
    more (train keeps one at least); with fewer, train first, then test, then val, with a note."""
    rng = np.random.default_rng(seed)
    side, notes = {}, []
    for cls, buildings in _by_class(images).items():
        n = len(buildings)
        n_test, n_val = _n_split(n, test_fraction), _n_split(n, val_fraction)
        if n >= 3:
            n_test, n_val = max(1, n_test), max(1, n_val)
            while n_test + n_val > n - 1:  # train keeps one building at least
                if n_test >= n_val:
                    n_test -= 1
                else:
                    n_val -= 1
        else:
            n_test, n_val = (0, 0) if n == 1 else (1, 0)
            notes.append(f"{cls}: {n} building{'s' if n > 1 else ''}, too few for train, val and test (3 needed): "
                         f"none in val{'' if n == 2 else ' nor test'}")
        test, val, train = _take(rng, buildings, (n_test, n_val, n - n_test - n_val))
        for group, name in ((train, "train"), (val, "val"), (test, "test")):
            for b in group:
                side[b] = name
    return {stem: side[image.building] for stem, image in images.items()}, notes


def split_by_view(images, val_fraction, test_view, seed):
    """({image stem: split}, notes): view `test_view` of every building in test, the other in train,
    except that per class round(n x val_fraction) buildings (at least one when the class has 2 or
    more buildings with a training view) give their training view to val instead."""
    rng = np.random.default_rng(seed)
    trainable = {stem: im for stem, im in images.items() if im.view != test_view}
    val_buildings, notes = set(), []
    for cls, buildings in _by_class(trainable).items():
        n = len(buildings)
        n_val = min(max(1, _n_split(n, val_fraction)), n - 1) if n >= 2 else 0
        if n < 2:
            notes.append(f"{cls}: {n} building with a training view, too few for train and val (2 needed): none in val")
        val_buildings.update(_take(rng, buildings, (n_val,))[0])
    for cls in sorted({im.cls for im in images.values()}):
        if not any(im.cls == cls and im.view == test_view for im in images.values()):
            notes.append(f"{cls}: no image of view {test_view}, none in test")
    notes.append("the test buildings are seen in training (their other view): the test images are new views "
                 "of known buildings, not new buildings")
    out = {}
    for stem, im in images.items():
        out[stem] = "test" if im.view == test_view else ("val" if im.building in val_buildings else "train")
    return out, notes


def split_rows(images, sides):
    """split.csv's rows, sorted by image name: (image file name, building, class, split)."""
    return [(images[stem].path.name, images[stem].building, images[stem].cls, sides[stem])
            for stem in sorted(images)]


def counts(rows):
    """{(class, split): (images, buildings)} of split rows, with split 'total' too."""
    out = {}
    for split in SPLITS + ("total",):
        for cls in sorted({r[2] for r in rows}):
            chosen = [r for r in rows if r[2] == cls and split in (r[3], "total")]
            out[cls, split] = (len(chosen), len({r[1] for r in chosen}))
    return out


# --------------------------------------------------------------------------- writing
def read_split(output):
    """split.csv of a prepared folder as a list of dicts (image, building, class, split)."""
    with (Path(output) / SPLIT_CSV).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _folders():
    return list(OUT_IMAGES.values()) + list(OUT_GAZE.values())


def _clear_earlier(output):
    """Delete what an earlier run of this command wrote (the files of its prepared_files.txt, split.csv
    among them, then the list itself) and the folders it left empty; nothing else."""
    listed = Path(output) / WRITTEN_LIST
    if listed.is_file():
        for rel in listed.read_text().splitlines():
            path = Path(output) / rel
            ours = rel == SPLIT_CSV or (len(Path(rel).parts) == 2 and Path(rel).parts[0] in _folders())
            if ours and (path.is_symlink() or path.is_file()):
                path.unlink()
        listed.unlink()
    for folder in _folders():
        path = Path(output) / folder
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _written(output):
    listed = Path(output) / WRITTEN_LIST
    return set(listed.read_text().splitlines()) if listed.is_file() else set()


def foreign_files(output):
    """The entries of the output's six folders that an earlier run of this command did not write
    (prepared_files.txt), relative to `output`: train.py and main.py would take them in."""
    output, written, out = Path(output), _written(output), []
    for folder in _folders():
        if (output / folder).is_dir():
            out += [f"{folder}/{p.name}" for p in sorted((output / folder).iterdir())
                    if f"{folder}/{p.name}" not in written]
    return out


def output_problem(output, force):
    """Why `output` cannot be written (one line), or None."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        return f"{output}: is a file, not a folder"
    if ((output / SPLIT_CSV).exists() or (output / WRITTEN_LIST).exists()) and not force:
        return f"{output} already holds a split ({SPLIT_CSV}): add --force to replace it, or choose another --output"
    if (output / SPLIT_CSV).exists() and SPLIT_CSV not in _written(output):
        return (f"{output / SPLIT_CSV}: not written by prepare_data.py (not in {WRITTEN_LIST}): move it or "
                f"choose another --output")
    foreign = foreign_files(output)
    if foreign:
        return (f"{output}: {len(foreign)} file(s) in its folders that this command did not write "
                f"(e.g. {foreign[0]}): move them or choose another --output")
    return None


def write_layout(release, sides, output, copy=False):
    """Link (or copy) the split images and their gaze files into `output`, write split.csv and
    prepared_files.txt; returns split.csv's rows. A file already there that this command did not
    write is an error (ReleaseError), never overwritten."""
    output = Path(output)
    rows = split_rows(release.images, sides)
    plan = []  # (relative destination, source)
    for stem in sorted(release.images):
        image = release.images[stem]
        plan.append((Path(OUT_IMAGES[sides[stem]]) / image.path.name, image.path))
        plan += [(Path(OUT_GAZE[kind]) / path.name, path) for kind, path in release.gaze_files(stem)]
    foreign = foreign_files(output)
    if foreign:
        raise ReleaseError(f"{output}: {len(foreign)} file(s) in its folders that this command did not write "
                           f"(e.g. {foreign[0]}): move them or choose another --output")
    for folder in _folders():
        (output / folder).mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for rel, source in plan:
            if copy:
                shutil.copy2(source, output / rel)
            else:
                os.symlink(os.path.abspath(source), output / rel)
            written.append(rel.as_posix())
    finally:
        (output / WRITTEN_LIST).write_text("".join(f"{w}\n" for w in written + [SPLIT_CSV]))
    with (output / SPLIT_CSV).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SPLIT_COLUMNS)
        writer.writerows(rows)
    return rows


# --------------------------------------------------------------------------- printing
def format_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def counts_table(rows):
    table = counts(rows)
    classes = sorted({r[2] for r in rows})
    body = [[cls] + [f"{table[cls, s][0]} ({table[cls, s][1]})" for s in SPLITS + ("total",)] for cls in classes]
    body.append(["all"] + [f"{sum(table[c, s][0] for c in classes)} ({sum(table[c, s][1] for c in classes)})"
                           for s in SPLITS + ("total",)])
    return format_table(["class"] + list(SPLITS) + ["total"], body)


def next_commands(output, model="models/mexculture_resnet50.keras"):
    """The train.py and main.py command lines (argv lists) for a prepared folder."""
    out = Path(output)
    train = ["python", "train.py", "--train_dir", str(out / OUT_IMAGES["train"]),
             "--val_dir", str(out / OUT_IMAGES["val"]), "--epochs", "10", "--fine_tune_epochs", "5",
             "--output", str(model)]
    run = ["python", "main.py", "--test_images_folder_path", str(out / OUT_IMAGES["test"]),
           "--test_gdfm_folder_path", str(out / OUT_GAZE["gfdm"]),
           "--fixations_folder_path", str(out / OUT_GAZE["fixations"]),
           "--scanpaths_folder_path", str(out / OUT_GAZE["scanpaths"]), "--model_path", str(model)]
    return [train, run]


# --------------------------------------------------------------------------- command line
def build_parser():
    p = parsers.ArgumentParser(
        description="Check the MexCulture142 release (Images, Fixations, Density Maps, Scanpaths), split it "
                    "and write the layout train.py and main.py take (images_train/, images_val/, images_test/, "
                    "gazefixationsdensitymaps/, fixations/, scanpaths/, split.csv).",
        formatter_class=parsers.HelpFormatter)
    p.add_argument("release", help="the release folder, holding Images, Fixations, Density Maps and Scanpaths "
                   "(any case, with or without spaces)")
    p.add_argument("--output", default="data/mexculture142", help="the folder written")
    p.add_argument("--split", choices=("building", "view"), default="building",
                   help="building: both views of a building on one side, stratified by class; view: one view of "
                        "every building in test, the other in train or val (test buildings seen in training)")
    p.add_argument("--val_fraction", type=float, default=DEFAULT_VAL_FRACTION,
                   help="the share of each class's buildings in val, in (0, 1)")
    p.add_argument("--test_fraction", type=float, default=None,
                   help=f"--split building: the share of each class's buildings in test, in (0, 1); with "
                        f"--val_fraction, less than 1 (default: {DEFAULT_TEST_FRACTION})")
    p.add_argument("--test_view", type=int, choices=(1, 2), default=2,
                   help="--split view: the view of each building in test (the other in train or val)")
    p.add_argument("--seed", type=int, default=constants.SEED, help="seed of the split (the same seed, the same split)")
    p.add_argument("--copy", action="store_true", help="copy the files (default: symbolic links to the release)")
    p.add_argument("--force", action="store_true",
                   help="replace a split made earlier in --output (only the files it wrote are deleted)")
    p.add_argument("--model", default="models/mexculture_resnet50.keras",
                   help="the model file named in the train.py and main.py commands printed at the end")
    return p


def parse_args(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if not 0 < args.val_fraction < 1:
        p.error(f"--val_fraction must be in (0, 1), not {args.val_fraction}")
    if args.split == "view":
        if args.test_fraction is not None:
            p.error("--test_fraction is for --split building (with --split view the test side is --test_view)")
    else:
        if args.test_fraction is None:
            args.test_fraction = DEFAULT_TEST_FRACTION
        if not 0 < args.test_fraction < 1:
            p.error(f"--test_fraction must be in (0, 1), not {args.test_fraction}")
        if args.val_fraction + args.test_fraction >= 1:
            p.error(f"--val_fraction + --test_fraction must be < 1 (train needs the rest), "
                    f"not {args.val_fraction} + {args.test_fraction}")
    if args.seed < 0:
        p.error(f"--seed must be >= 0, not {args.seed}")
    return args


def _fail(message):
    print(f"prepare_data.py: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = output_problem(args.output, args.force)
    if problem:
        return _fail(problem)
    try:
        release = Release(args.release)
    except ReleaseError as err:
        return _fail(str(err))
    n_images = len(release.images)
    print(f"{args.release}: {n_images} images of {len({i.building for i in release.images.values()})} buildings, "
          f"{len(release.gfdm)} GFDMs, {len(release.fixations)} fixation files, "
          f"{sum(len(v) for v in release.scanpaths.values())} scanpath files")
    if release.problems:
        print(f"\n{len(release.problems)} problem(s):")
        print(format_table(["file", "problem", "detail"], release.problems))
        print()
    unusable = release.unusable()
    if unusable:
        return _fail(f"{len(unusable)} image(s) with neither GFDM nor fixations cannot be evaluated "
                     f"(e.g. {unusable[0]}): nothing written; complete or remove them")
    if not n_images:
        return _fail(f"{release.folders['images']}: no image named {SHOWN_PATTERNS['images']}: nothing written")
    if release.problems:
        print("warning: the malformed, extra and duplicate files above are left out; the images with missing "
              "gaze files are kept")
    if args.split == "building":
        sides, notes = split_by_building(release.images, args.val_fraction, args.test_fraction, args.seed)
    else:
        sides, notes = split_by_view(release.images, args.val_fraction, args.test_view, args.seed)
    if args.force:
        _clear_earlier(args.output)
    try:
        rows = write_layout(release, sides, args.output, copy=args.copy)
    except ReleaseError as err:
        return _fail(str(err))
    for note in notes:
        print(f"note: {note}")
    how = "copied" if args.copy else "linked"
    print(f"\n{args.output}: split by {args.split} (seed {args.seed}), files {how}; images (buildings):")
    print(counts_table(rows))
    print("\nNext:")
    for command in next_commands(args.output, args.model):
        print("  " + " ".join(shlex.quote(c) for c in command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
