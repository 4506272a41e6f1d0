"""One interface for every saliency method, and the registry the command line, the tables, the
figures and the benchmark read.

    from xai_mexculture import explainers
    cls = explainers.get("RISE")                       # explainers.names() lists them
    rise = cls(model, batch_size=64, seed=0, n_masks=2000)   # once per model: compiles once
    maps = rise.explain(images, class_indices, keys=names)   # (N, H, W) float32 in [0, 1]

A method is a subclass of `Explainer` decorated with `@explainers.register`: a built-in one in a
module of this package (imported by its __init__.py), a user's in a module beside main.py (found by
`discover`). It declares its parameters (`Param`: keyword, command-line flag,
type, default, help, whether it changes the numbers) and implements `_explain(images,
class_indices, keys)`; the base class checks inputs and normalises the maps. A method that averages
random samples sets `stochastic = True` and returns `Sampled` items (the map and the maps of the two
halves of its samples): `explain_details` then gives each map's split-half reliability.

Every random draw is made on the host with numpy from `self.rng(key)`, seeded from (seed, key) where
the key is the image's name (image_stage.py passes it): a map depends neither on the backend, nor on the
batch size, nor on the other images of the run. Without a key, the seed alone is used.
"""
import dataclasses
import importlib
import logging
import sys
import weakref
import zlib
from pathlib import Path

import numpy as np

import constants

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]  # the project's folder (beside main.py): a user's plug-in modules


@dataclasses.dataclass(frozen=True)
class Param:
    """A method parameter: constructor keyword, command-line flag (without --), type, default, help,
    whether it changes the numbers (resume and merge compare exactly those), and an optional check
    returning an error message for a bad value."""
    name: str
    flag: str
    type: type
    default: object
    help: str
    changes_numbers: bool = True
    check: object = None

    def validate(self, value):
        if value is None and self.default is None:
            return None
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"--{self.flag}: {value!r} is not a valid {self.type.__name__}") from None
        message = self.check(value) if self.check else None
        if message:
            raise ValueError(f"--{self.flag} {value}: {message}")
        return value


def at_least(low):
    return lambda v: None if v >= low else f"must be >= {low}"


def in_range(low, high, low_open=True):
    def check(v):
        ok = (low < v if low_open else low <= v) and v <= high
        return None if ok else f"must be in {'(' if low_open else '['}{low}, {high}]"
    return check


def check_images(images) -> np.ndarray:
    """A stack of images as float32 (N, H, W, 3); a clear error for anything else."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("images hold NaN or inf")
    return arr


def check_image(img_array) -> np.ndarray:
    """One image as float32 (H, W, 3); a clear error for anything else."""
    img = np.asarray(img_array, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"img_array must have shape (H, W, 3), got {img.shape}")
    return check_images(img[None])[0]


def check_class_indices(model, class_indices, n) -> np.ndarray:
    from xai_mexculture.core import model_graph
    n_classes = model_graph.n_classes(model)
    arr = np.atleast_1d(np.asarray(class_indices))
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"class_indices must be {n} integers, got {np.asarray(class_indices)!r}")
    bad = arr[(arr < 0) | (arr >= n_classes)]
    if bad.size:
        raise ValueError(f"class_index {int(bad[0])} out of range for a model with {n_classes} classes")
    return arr.astype(np.int32)


def seed_for(seed, key=None) -> int:
    """A 32-bit seed from (seed, key): the seed itself without a key; else a hash of both that does
    not depend on the process (zlib.crc32, not Python's salted hash)."""
    if key is None:
        return int(seed)
    return int(np.random.default_rng([int(seed), zlib.crc32(str(key).encode())]).integers(2 ** 31 - 1))


def split_half_reliability(first, second) -> float:
    """Spearman-Brown corrected split-half reliability of a map made from random samples: r = the
    Pearson correlation (numpy.corrcoef) of the two maps made from each half of the samples, each
    normalised as the map is; 2 r / (1 + r) estimates the correlation of two maps made from all the
    samples (Spearman 1910, Brown 1910). Near 1: the samples were enough; near 0: the map is Monte
    Carlo noise. NaN when a half map is flat (no correlation to take)."""
    from xai_mexculture.core import image_io
    a = image_io.normalise(first).astype(np.float64).ravel()
    b = image_io.normalise(second).astype(np.float64).ravel()
    if image_io.is_flat(a) or image_io.is_flat(b):
        return float("nan")
    r = float(np.corrcoef(a, b)[0, 1])
    return 2 * r / (1 + r) if r > -1 else float("nan")


@dataclasses.dataclass
class Sampled:
    """What a stochastic method's `_explain` gives for one image: the map (any scale), and the two
    maps made from the first and the second half of the same samples (no extra model evaluation),
    by which `explain_details` reports the map's split-half reliability."""
    map: np.ndarray
    first: np.ndarray
    second: np.ndarray

    def reliability(self) -> float:
        return split_half_reliability(self.first, self.second)


class Explainer:
    """Base class: `cls(model, model_name="ResNet", batch_size=64, seed=0, jit=True, **params)`.

    Built once per model; it holds its compiled functions as its own state. Subclasses set `name`
    (the command-line name), `params` (a tuple of Param), and implement `_explain`."""
    name = ""
    params = ()
    description = ""
    quick_params = {}  # small settings for smoke tests and `bench.py --quick`
    bench_target = ""  # the benchmark's target for the method's ratio, e.g. "<= 1.15"
    stochastic = False  # averages random samples: `_explain` returns `Sampled` items (a reliability each)

    def __init__(self, model, model_name="ResNet", batch_size=constants.BATCH_SIZE, seed=constants.SEED,
                 jit=True, **params):
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise TypeError(f"{self.name or type(self).__name__}: unknown parameter(s) {', '.join(unknown)}"
                            f" (known: {', '.join(known) or 'none'})")
        if int(batch_size) < 1:
            raise ValueError("batch_size must be >= 1")
        self.model, self.model_name = model, model_name
        self.batch_size, self.seed, self.jit = int(batch_size), int(seed), bool(jit)
        for p in self.params:
            setattr(self, p.name, p.validate(params.get(p.name, p.default)))

    def rng(self, key=None) -> np.random.Generator:
        """The numpy generator of one image, seeded from (seed, key)."""
        return np.random.default_rng(seed_for(self.seed, key))

    def explain(self, images, class_indices, keys=None) -> np.ndarray:
        """Maps float32 (N, H, W) in [0, 1], each with max 1 (or all zeros), for images float32
        (N, H, W, 3) RGB in [0, 255] and class_indices int (N,). keys: one name per image for the
        random draws (default: none, the seed alone)."""
        return self.explain_details(images, class_indices, keys)[0]

    def explain_details(self, images, class_indices, keys=None) -> tuple:
        """(maps as `explain` gives them, reliability float64 (N,)): the split-half reliability of
        each map of a stochastic method (see `Sampled`), NaN for a deterministic one."""
        from xai_mexculture.core import image_io
        images = check_images(images)
        classes = check_class_indices(self.model, class_indices, len(images))
        keys = [None] * len(images) if keys is None else list(keys)
        if len(keys) != len(images):
            raise ValueError(f"{len(keys)} keys for {len(images)} images")
        made = self._explain(images, classes, keys)
        if self.stochastic and not all(isinstance(m, Sampled) for m in made):
            raise TypeError(f"{self.name}: a stochastic method's _explain returns explainers.Sampled items")
        reliability = np.array([m.reliability() if isinstance(m, Sampled) else np.nan for m in made], np.float64)
        maps = [m.map if isinstance(m, Sampled) else m for m in made]
        return np.stack([image_io.normalise(m) for m in maps]).astype(np.float32), reliability

    def _explain(self, images, class_indices, keys):
        """One map per image (any scale: normalised by `explain`), or for a stochastic method one
        `Sampled` per image."""
        raise NotImplementedError

    def evaluations_per_image(self):
        """Model evaluations one image costs (perturbation methods), or None for methods that cost
        a forward (and backward) pass per image. The benchmark compares with the forward limit."""
        return None

    def numbers_config(self) -> dict:
        """The parameters that change the numbers, by command-line flag."""
        return {p.flag: getattr(self, p.name) for p in self.params if p.changes_numbers}


_REGISTRY = {}
_IN_ALL = []


def register(cls=None, *, in_all=False):
    """Class decorator adding an Explainer subclass to the registry under `cls.name` (upper case).
    in_all: part of `--explanation_method ALL` (the seed's four)."""
    def add(cls):
        if not (isinstance(cls, type) and issubclass(cls, Explainer)):
            raise TypeError(f"{cls!r} is not an Explainer subclass")
        name = cls.name
        if not name or name != name.upper() or "," in name or name in ("ALL", "EVERY"):
            raise ValueError(f"{cls.__name__}: name must be upper case, without commas, not ALL/EVERY: '{name}'")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a method called {name} is registered already ({_REGISTRY[name].__module__})")
        _REGISTRY[name] = cls
        if in_all and name not in _IN_ALL:
            _IN_ALL.append(name)
        return cls
    return add(cls) if cls is not None else add


def unregister(name) -> None:
    """Remove a method (tests register toy methods and remove them again)."""
    _REGISTRY.pop(name, None)
    if name in _IN_ALL:
        _IN_ALL.remove(name)


_DISCOVERED = set()


def discover(folder=ROOT) -> None:
    """Import every top-level module of `folder` (the project's folder, beside main.py) that registers
    a method or a metric (its text calls `explainers.register` or `metrics.register`): a user's
    plug-ins. The built-in methods and metrics are imported by their packages
    (xai_mexculture/explainers/__init__.py, xai_mexculture/metrics/__init__.py)."""
    folder = Path(folder).resolve()
    if folder in _DISCOVERED:
        return
    _DISCOVERED.add(folder)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    for path in sorted(folder.glob("*.py")):
        if path.stem in sys.modules:
            continue
        text = path.read_text(errors="replace")
        if "@explainers.register" in text or "metrics.register(" in text:
            importlib.import_module(path.stem)


def default_names() -> list:
    """The methods of `--explanation_method ALL` (the seed's four, in table order)."""
    discover()
    return list(_IN_ALL)  # in registration order: the package imports the seed's four first


def names() -> list:
    """Registered method names as on the command line: the seed's four first, then the project's
    other methods in table order, then the others in registration order."""
    first = default_names()
    rest = [n for n in _REGISTRY if n not in first]
    return first + rest


def get(name):
    """The class registered as `name` (case-insensitive); a ValueError listing the names if none."""
    discover()
    key = str(name).strip().upper()
    if key not in _REGISTRY:
        raise ValueError(f"unknown explanation method '{name}' (known: {', '.join(names())})")
    return _REGISTRY[key]


def parse_methods(text) -> list:
    """`--explanation_method`: one name, a comma-separated list, ALL (the seed's four) or EVERY."""
    items = [t.strip().upper() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError("no explanation method given")
    out = []
    for item in items:
        chosen = default_names() if item == "ALL" else names() if item == "EVERY" else [get(item).name]
        out += [m for m in chosen if m not in out]
    return out


def all_params(methods=None) -> list:
    """The declared parameters of the given (default: every registered) methods, one per flag; two
    methods may share a flag (e.g. --layer) only with the same declaration."""
    seen = {}
    for method in methods or names():
        for p in get(method).params:
            if p.flag in seen and seen[p.flag] != p:
                raise ValueError(f"--{p.flag} is declared differently by two methods")
            seen[p.flag] = p
    return list(seen.values())


def build(method, model, model_name="ResNet", batch_size=constants.BATCH_SIZE, seed=constants.SEED,
          jit=True, options=None):
    """An explainer of `method` with its parameters taken from `options` (a dict by keyword or
    flag, e.g. vars(args)); missing ones keep their defaults."""
    cls = get(method)
    options = options or {}
    params = {}
    for p in cls.params:
        for key in (p.flag, p.name):
            if key in options and options[key] is not None:
                params[p.name] = options[key]
                break
    return cls(model, model_name=model_name, batch_size=batch_size, seed=seed, jit=jit, **params)


_SHARED = weakref.WeakKeyDictionary()


def shared(cls, model, **kwargs):
    """One explainer per (model, class, arguments), reused by the per-image wrappers (GradCAM(...),
    RISE(...), ...) so that a loop over images compiles once. Held weakly by the model."""
    store = _SHARED.setdefault(model, {})
    key = (cls, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in store:
        store[key] = cls(model, **kwargs)
    return store[key]
