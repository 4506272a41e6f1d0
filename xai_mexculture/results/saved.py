"""What a run saves so that its figures and its page can be redrawn without the model (report.py OUT),
beside maps/<image>_<METHOD>.npy:

    inputs/<image>.png   the image at the model's input size (RGB, 8 bit)
    gfdm/<image>.png     the GFDM at its own size (16 bit gray: value x 65535)
    curves/<image>.npz   the scores of every curve metric per method: arrays named METHOD__Insertion, ...

<image> is the image file's name without its extension. Every file is written atomically; the npz
holds no date, so equal curves give equal files."""
import io
import zipfile
from pathlib import Path

import cv2
import numpy as np

from xai_mexculture.core import safe_io

FOLDERS = ("inputs", "gfdm", "curves")
SEPARATOR = "__"


def stem(name) -> str:
    return Path(name).stem


def _write_png(path, array) -> None:
    ok, buffer = cv2.imencode(".png", array)
    if not ok:
        raise OSError(f"{path}: could not encode the image")
    with safe_io.replacing(path) as tmp:
        Path(tmp).write_bytes(buffer.tobytes())


def save_curves(path, curves) -> None:
    """curves {metric: {method: scores}} as an npz with one array per method and metric, no dates."""
    with safe_io.replacing(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for metric in sorted(curves):
            for method in sorted(curves[metric]):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(curves[metric][method], np.float64))
                info = zipfile.ZipInfo(f"{method}{SEPARATOR}{metric}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())


def load_curves(path) -> dict:
    """{metric: {method: scores}} from save_curves' file."""
    out = {}
    with np.load(path) as archive:
        for key in archive.files:
            method, _, metric = key.rpartition(SEPARATOR)
            out.setdefault(metric, {})[method] = archive[key]
    return out


def save_image(out_dir, name, img, gfdm, curves) -> None:
    """The resized input (float or uint8 RGB in [0, 255]), the GFDM (in [0, 1]) and the curves of one
    image."""
    out_dir, s = Path(out_dir), stem(name)
    for folder in FOLDERS:
        (out_dir / folder).mkdir(exist_ok=True)
    _write_png(out_dir / "inputs" / f"{s}.png", cv2.cvtColor(as_saved_image(img), cv2.COLOR_RGB2BGR))
    _write_png(out_dir / "gfdm" / f"{s}.png", _gfdm_uint16(gfdm))
    save_curves(out_dir / "curves" / f"{s}.npz", curves)


def as_saved_image(img) -> np.ndarray:
    """The input as inputs/<image>.png stores it (and load_image gives it back): uint8 RGB."""
    return np.clip(np.rint(np.asarray(img, np.float64)), 0, 255).astype(np.uint8)


def _gfdm_uint16(gfdm) -> np.ndarray:
    g = np.clip(np.nan_to_num(np.asarray(gfdm, np.float64)), 0.0, 1.0)
    return np.rint(g * 65535).astype(np.uint16)


def as_saved_gfdm(gfdm) -> np.ndarray:
    """The GFDM as gfdm/<image>.png stores it (and load_image gives it back): float32 in [0, 1] in
    steps of 1 / 65535."""
    return _gfdm_uint16(gfdm).astype(np.float32) / 65535.0


def missing(out_dir, name, methods=()) -> list:
    """The files the figures of image `name` need that are not in out_dir."""
    out_dir, s = Path(out_dir), stem(name)
    need = [out_dir / "inputs" / f"{s}.png", out_dir / "gfdm" / f"{s}.png", out_dir / "curves" / f"{s}.npz"]
    need += [out_dir / "maps" / f"{s}_{m}.npy" for m in methods]
    return [p for p in need if not p.is_file()]


def load_image(out_dir, name, methods) -> dict:
    """img (uint8 RGB), gfdm (float32 in [0, 1]), maps {method: map} of `methods`, curves {metric:
    {method: scores}} of one image; FileNotFoundError names what is missing."""
    absent = missing(out_dir, name, methods)
    if absent:
        raise FileNotFoundError(f"{name}: not saved: {', '.join(str(p) for p in absent)}")
    out_dir, s = Path(out_dir), stem(name)
    bgr = cv2.imread(str(out_dir / "inputs" / f"{s}.png"), cv2.IMREAD_COLOR)
    gfdm = cv2.imread(str(out_dir / "gfdm" / f"{s}.png"), cv2.IMREAD_UNCHANGED)
    if bgr is None or gfdm is None:
        raise ValueError(f"{name}: the saved input or GFDM cannot be read")
    scale = 65535.0 if gfdm.dtype == np.uint16 else 255.0
    return dict(img=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), gfdm=(gfdm.astype(np.float32) / scale),
                maps={m: np.load(out_dir / "maps" / f"{s}_{m}.npy") for m in methods},
                curves=load_curves(out_dir / "curves" / f"{s}.npz"))
