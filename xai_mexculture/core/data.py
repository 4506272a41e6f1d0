"""MexCulture142 data layer: file naming, pairing images with their GFDMs and fixations,
reading fixation files and building gaze-fixation density maps (GFDM) from them.

MexCulture142 naming (the file name without extension):
    image     SSS_XXX_YYY_N_#
    fixations SSS_XXX_YYY_GazeFix_N_#.txt
    GFDM      SSS_XXX_YYY_GFDM_N_#.png
SSS is the architectural style (Colonial, Modern, Prehispanic), which gives the class.
"""
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

import constants

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One test image and the gaze data that go with it (None where absent)."""
    name: str
    image_path: Path
    gfdm_path: Optional[Path] = None
    fixation_path: Optional[Path] = None


def _split_stem(stem: str) -> Tuple[str, str]:
    """Split 'SSS_XXX_YYY_N_#' into ('SSS_XXX_YYY', 'N_#')."""
    parts = stem.rsplit("_", 2)
    if len(parts) < 3:
        return stem, ""
    return parts[0], "_".join(parts[1:])


def class_index(name, class_names=constants.CLASS_NAMES) -> int:
    """Class index from the file-name prefix SSS: its position in `class_names` (the model's output
    order; MexCulture's three sorted by name: Colonial=0, Modern=1, Prehispanic=2), case-insensitive.
    An unknown prefix is a ValueError naming the file."""
    stem = Path(str(name)).name
    prefix = stem.split("_", 1)[0].lower()
    for index, cls in enumerate(class_names):
        if prefix == cls.lower():
            return index
    raise ValueError(f"{name}: unknown class prefix '{stem.split('_', 1)[0]}' "
                     f"(expected one of {', '.join(class_names)})")


def class_name(name, class_names=constants.CLASS_NAMES) -> str:
    """Class name from the file-name prefix, or "" when the prefix is unknown."""
    try:
        return class_names[class_index(name, class_names)]
    except ValueError:
        return ""


def gfdm_stem(image_name: str) -> str:
    """Stem of the GFDM file of an image: SSS_XXX_YYY_N_# -> SSS_XXX_YYY_GFDM_N_#."""
    base, tail = _split_stem(Path(image_name).stem)
    return f"{base}_GFDM_{tail}" if tail else f"{base}_GFDM"


def fixation_stem(image_name: str) -> str:
    """Stem of the fixation file of an image: SSS_XXX_YYY_N_# -> SSS_XXX_YYY_GazeFix_N_#."""
    base, tail = _split_stem(Path(image_name).stem)
    return f"{base}_GazeFix_{tail}" if tail else f"{base}_GazeFix"


def list_images(folder) -> List[Path]:
    """Image files of a folder, sorted by name; other files (.DS_Store, notes) are skipped silently."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in constants.IMAGE_EXTENSIONS)


def _index_by_stem(folder, suffixes) -> dict:
    if folder is None:
        return {}
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix.lower() in suffixes}


def pair_samples(images_folder, gfdm_folder=None, fixations_folder=None) -> List[Sample]:
    """Pair every image of `images_folder` with its GFDM and fixation file by MexCulture naming.

    Images without a GFDM (and without fixations to build one from) are logged by name and kept
    with gfdm_path=None, so the caller decides whether to skip them.
    """
    gfdms = _index_by_stem(gfdm_folder, constants.IMAGE_EXTENSIONS)
    fixations = _index_by_stem(fixations_folder, (".txt",))
    samples, missing = [], []
    for path in list_images(images_folder):
        sample = Sample(path.name, path, gfdms.get(gfdm_stem(path.name)),
                        fixations.get(fixation_stem(path.name)))
        if gfdm_folder is not None and sample.gfdm_path is None:
            missing.append(path.name)
        samples.append(sample)
    if missing:
        log.warning("no GFDM for %d image(s): %s", len(missing), ", ".join(missing))
    return samples


def read_fixations(path, durations=False) -> np.ndarray:
    """Fixations of a file as an (N, 2) float array of (x, y) = (column, row) in image pixels, or
    with `durations` an (N, 3) array whose third column is the duration (NaN when the file has no
    third column).

    The file holds whitespace-separated rows; the first two columns are x and y, a third the
    fixation's duration (any unit), further columns are ignored. Lines starting with '#' are comments.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty file: handled below
            rows = np.loadtxt(path, ndmin=2, comments="#", dtype=np.float64)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a fixation file ({err})") from err
    if rows.size == 0:
        return np.zeros((0, 3 if durations else 2))
    if rows.shape[1] < 2:
        raise ValueError(f"{path}: a fixation row needs at least two columns (x y)")
    if not np.all(np.isfinite(rows[:, :2])):
        raise ValueError(f"{path}: fixation coordinates must be finite numbers")
    if not durations:
        return rows[:, :2].copy()
    if rows.shape[1] < 3:
        return np.column_stack([rows[:, :2], np.full(len(rows), np.nan)])
    if not np.all(np.isfinite(rows[:, 2])) or np.any(rows[:, 2] < 0):
        raise ValueError(f"{path}: fixation durations (third column) must be non-negative numbers")
    return rows[:, :3].copy()


WEIGHTINGS = ("count", "duration")


def fixation_weights(fixations, weighting="count", name="fixations") -> Optional[np.ndarray]:
    """The weights of (N, 3) fixations (x, y, duration) in a GFDM: None (each counts once) for
    "count"; the durations for "duration" (None with a warning naming `name` when it has none)."""
    if weighting == "count":
        return None
    if weighting != "duration":
        raise ValueError(f"unknown GFDM weighting '{weighting}' (known: {', '.join(WEIGHTINGS)})")
    pts = np.asarray(fixations, np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3 or not np.all(np.isfinite(pts[:, 2])):
        log.warning("%s: no fixation durations, every fixation counts once", name)
        return None
    return pts[:, 2]


def gfdm_from_fixations(fixations, shape, sigma=constants.GFDM_SIGMA_MEXCULTURE, weights=None) -> np.ndarray:
    """Gaze-fixation density map (Wooding 2002): one isotropic Gaussian of standard deviation
    `sigma` pixels per fixation (times its weight, e.g. its duration, when `weights` are given),
    summed and divided by the maximum.

    fixations: (N, 2) array of (x, y) pixel coordinates (further columns ignored); fixations outside
    the image (inside_image) are ignored.
    shape: (H, W) of the map. Returns float32 (H, W) in [0, 1] (all zeros without fixations).
    The Gaussian is separable, so the sum is the product of an (H, N) and an (N, W) matrix.
    """
    h, w = int(shape[0]), int(shape[1])
    pts = np.asarray(fixations, dtype=np.float64)
    pts = pts.reshape(-1, pts.shape[-1] if pts.ndim == 2 else 2)[:, :2]
    wts = np.ones(len(pts)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if len(wts) != len(pts):
        raise ValueError(f"{len(wts)} weights for {len(pts)} fixations")
    inside = inside_image(pts, (h, w))
    pts, wts = pts[inside], wts[inside]
    if len(pts) == 0 or not np.any(wts > 0):
        return np.zeros((h, w), np.float32)
    gx = np.exp(-((np.arange(w)[None, :] - pts[:, :1]) ** 2) / (2.0 * sigma ** 2))  # (N, W)
    gy = np.exp(-((np.arange(h)[None, :] - pts[:, 1:2]) ** 2) / (2.0 * sigma ** 2))  # (N, H)
    density = gy.T @ (wts[:, None] * gx)
    return (density / density.max()).astype(np.float32)


ASPECT_TOLERANCE = 0.02  # a GFDM's aspect ratio may differ this much from its image's (rounding of a resize)


def check_gfdm_shape(gfdm_shape, image_shape, gfdm_path, image_path) -> None:
    """A GFDM may be stored at another size than its image (it is resized to the maps' grid, the
    fixations moved to its grid), but not at another aspect ratio: then it is not the gaze on this
    image (another crop, a swapped file, width and height exchanged). ValueError naming both files
    and both sizes when the ratios (width / height) differ by more than ASPECT_TOLERANCE."""
    gh, gw = int(gfdm_shape[0]), int(gfdm_shape[1])
    ih, iw = int(image_shape[0]), int(image_shape[1])
    off = abs((gw / gh) / (iw / ih) - 1.0)
    if off > ASPECT_TOLERANCE:
        raise ValueError(f"{gfdm_path}: the GFDM is {gw} x {gh} pixels (width x height) but its image "
                         f"{Path(image_path).name} is {iw} x {ih}: their aspect ratios differ by {off:.0%} (more "
                         f"than {ASPECT_TOLERANCE:.0%}), so this map is not the gaze on this image (another crop, "
                         f"another image's GFDM, or width and height swapped?); a GFDM of the image's aspect ratio, "
                         f"at any size, is used")


def rescale_points(points, from_shape, to_shape) -> np.ndarray:
    """(N, >= 2) points (x, y, ...) in the pixels of an (H, W) `from_shape` grid moved to the pixels
    of `to_shape` (pixel centres kept: x' = (x + 0.5) W'/W - 0.5); further columns unchanged."""
    out = np.array(points, np.float64)
    if out.size and tuple(from_shape[:2]) != tuple(to_shape[:2]):
        out[:, 0] = (out[:, 0] + 0.5) * to_shape[1] / from_shape[1] - 0.5
        out[:, 1] = (out[:, 1] + 0.5) * to_shape[0] / from_shape[0] - 0.5
    return out


def inside_image(points, shape) -> np.ndarray:
    """Boolean mask of the (N, >= 2) points (x, y, ...) that lie in an (H, W) image: those whose
    nearest pixel (x and y rounded with np.rint) is one of its pixels, 0 <= rint(x) < W and
    0 <= rint(y) < H. Pixel centres are at integers (as in rescale_points), so the image covers
    [-0.5, W - 0.5) x [-0.5, H - 0.5): x = -0.4 is in pixel 0, x = W - 0.6 in pixel W - 1, and
    x = W - 0.4 is outside. fixation_map marks, and gfdm_from_fixations uses, exactly these points."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts.reshape(-1, pts.shape[-1] if pts.ndim == 2 else 2)
    x, y = np.rint(pts[:, 0]), np.rint(pts[:, 1])
    return (x >= 0) & (x < int(shape[1])) & (y >= 0) & (y < int(shape[0]))


def outside_text(label, n_outside, n_total, shape) -> str:
    """What is said of a fixation file with fixations outside its (H, W) image (inside_image), or of
    one without any fixation: "LABEL: 3 of 40 fixations lie outside the 320 x 240 image; left out"."""
    if n_total == 0:
        return f"{label}: no fixation in the file"
    return (f"{label}: {n_outside} of {n_total} fixation{'s' if n_total > 1 else ''} "
            f"lie{'s' if n_total == 1 else ''} outside the {int(shape[1])} x {int(shape[0])} image; left out")


def fixation_map(fixations, shape) -> np.ndarray:
    """Binary (H, W) map with 1 at each (rounded) fixation inside the image (inside_image)."""
    h, w = int(shape[0]), int(shape[1])
    out = np.zeros((h, w), np.float32)
    pts = np.asarray(fixations, dtype=np.float64).reshape(-1, 2)
    keep = inside_image(pts, (h, w))
    pts = np.rint(pts[keep]).astype(int)
    out[pts[:, 1], pts[:, 0]] = 1.0
    return out


def _size_of(path):
    """(H, W) of an image file from its header (Pillow reads no pixels for this)."""
    from PIL import Image
    with Image.open(path) as im:
        return im.size[1], im.size[0]


def fixation_set(fixations_folder, images_folder=None, gfdm_folder=None):
    """All fixations of a folder, for the shuffled AUC: {image stem: (N, 2) points as fractions of
    their image's width and height}, and a SHA-256 of the set (file names and contents). An image's
    size comes from its image file, else its GFDM; a file whose size or content cannot be read is
    left out with a warning naming it, and so are the fixations outside their image (inside_image;
    named with their count in one line of the log; image_stage.load_gaze warns of those of each image run)."""
    import hashlib
    folder = Path(fixations_folder)
    images = {p.stem: p for p in list_images(images_folder)} if images_folder else {}
    gfdms = _index_by_stem(gfdm_folder, constants.IMAGE_EXTENSIONS)
    out, digest, outside = {}, hashlib.sha256(), []
    for path in sorted(folder.glob("*.txt")):
        base, tail = _split_stem(path.stem.replace("_GazeFix", ""))
        stem = f"{base}_{tail}" if tail else base
        source = images.get(stem) or gfdms.get(gfdm_stem(stem))
        try:
            if source is None:
                raise ValueError("no image or GFDM to give its size")
            h, w = _size_of(source)
            points = read_fixations(path)
        except (OSError, ValueError) as err:
            log.warning("%s: left out of the shuffled-AUC negatives (%s)", path.name, err)
            continue
        digest.update(path.name.encode() + path.read_bytes())
        inside = inside_image(points, (h, w))
        if not inside.all():
            outside.append(f"{path.name} ({int((~inside).sum())} of {len(points)})")
        out[stem] = (points[inside] + 0.5) / np.array([w, h], np.float64)
    if outside:
        log.info("fixations outside their image left out of the shuffled-AUC negatives: %s", ", ".join(outside))
    return out, digest.hexdigest()


def other_fixations(fixations_by_image, image_name, shape) -> np.ndarray:
    """The fixations of every other image of the set, as (x, y) points in a map of `shape`."""
    own = Path(image_name).stem
    parts = [pts for stem, pts in fixations_by_image.items() if stem != own]
    if not parts:
        return np.zeros((0, 2))
    fractions = np.concatenate(parts)
    return fractions * np.array([shape[1], shape[0]], np.float64) - 0.5
