"""Shared fixtures: tiny known-answer models built in the tests (fixed weights)."""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers, ops  # noqa: E402

SIZE = 128
CELL = SIZE // 8
# The region the region model looks at: grid cells rows 2..4 x columns 4..6 of an 8 x 8 grid.
REGION = (slice(2 * CELL, 5 * CELL), slice(4 * CELL, 7 * CELL))


def region_mask(size=SIZE):
    m = np.zeros((size, size), np.float32)
    m[REGION] = 1.0
    return m


class CellMask(layers.Layer):
    """Multiplies (N, 8, 8, C) feature maps by a fixed 0/1 mask of grid cells."""
    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self.mask = np.asarray(mask, np.float32)

    def call(self, x):
        return x * ops.convert_to_tensor(self.mask[None, :, :, None])


class PatchFraction(layers.Layer):
    """Outputs [p, 1 - p] with p = mean over a patch of the pixel values / 255 (all channels)."""

    def __init__(self, rows, cols, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.cols = rows, cols

    def call(self, x):
        p = ops.mean(x[:, self.rows[0]:self.rows[1], self.cols[0]:self.cols[1], :], axis=(1, 2, 3)) / 255.0
        p = ops.expand_dims(p, -1)
        return ops.concatenate([p, 1.0 - p], axis=-1)


@pytest.fixture(scope="session")
def region_model():
    """Class 0's logit grows with the brightness of REGION only: 2 classes, fixed weights.

    image -> CELL x CELL average pool -> 1x1 conv to 2 channels (brightness, constant) -> ReLU ->
    cell mask (REGION) -> global average pool -> dense softmax.
    """
    inp = keras.Input((SIZE, SIZE, 3))
    x = layers.AveragePooling2D(CELL)(inp)
    conv = layers.Conv2D(2, 1, name="features_conv")
    x = conv(x)
    conv.set_weights([np.array([[[[1 / 765, 0.0], [1 / 765, 0.0], [1 / 765, 0.0]]]], np.float32),
                      np.array([0.0, 1.0], np.float32)])
    x = layers.Activation("relu", name="features")(x)
    cells = np.zeros((8, 8), np.float32)
    cells[2:5, 4:7] = 1.0
    x = CellMask(cells, name="region_only")(x)
    x = layers.GlobalAveragePooling2D()(x)
    dense = layers.Dense(2, activation="softmax", name="head")
    out = dense(x)
    # logit0 = 12 * (mean brightness of REGION in [0, 1] - 0.5), logit1 = 0
    scale = 12 * 64 / 9
    dense.set_weights([np.array([[scale, 0.0], [-6.0 * 64 / 9, 0.0]], np.float32), np.zeros(2, np.float32)])
    return keras.Model(inp, out, name="region_model")


@pytest.fixture(scope="session")
def region_image():
    """8 x 8-pixel blocks of random dark colours, and a bright, flat REGION."""
    rng = np.random.default_rng(3)
    blocks = rng.uniform(0, 140, (SIZE // 8, SIZE // 8, 3))
    img = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1).astype(np.float32)
    img[REGION] = 250.0
    return img


def patch_model(shape, rows, cols):
    inp = keras.Input(tuple(shape) + (3,))
    return keras.Model(inp, PatchFraction(rows, cols)(inp), name="patch_model")


@pytest.fixture(scope="session")
def random_cnn():
    """A random tiny CNN (seeded) with a softmax head."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255.0)(inp)
    x = layers.Conv2D(4, 3, strides=2, activation="relu", name="c1")(x)
    x = layers.Conv2D(6, 3, strides=2, activation="relu", name="c2")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="session")
def demo_model():
    import constants
    from xai_mexculture.core import model_io
    return model_io.load_model(constants.DEMO_MODEL)


@pytest.fixture(scope="session")
def demo_image():
    import constants
    from xai_mexculture.core import data
    from xai_mexculture.core import image_io
    path = data.list_images(constants.DEMO_TEST_IMAGES)[0]
    return image_io.load_image(path), data.class_index(path.name)


@pytest.fixture()
def fonts_checked(monkeypatch):
    """Every figure saved through style.save: after drawing, every visible text is >= 8 pt (the list
    of the figures checked)."""
    from xai_mexculture.render import style
    from matplotlib.text import Text
    checked = []
    real = style.save

    def save(fig, stem, fmt="png", dpi=style.DPI):
        path = real(fig, stem, fmt, dpi)
        small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip() and t.get_fontsize() < style.MIN_FONT]
        assert not small, f"{stem}: text under {style.MIN_FONT} pt: {small[:5]}"
        checked.append(stem)
        return path
    monkeypatch.setattr(style, "save", save)
    return checked


@pytest.fixture()
def two_demo_images(tmp_path):
    """main.py's folder flags for two demo images (a Colonial and a Modern one), their GFDMs and the
    demo fixations."""
    import constants
    import fake_run
    f = fake_run.demo_folders(tmp_path, ("Colonial_DemoTest001_Synthetic_N_1", "Modern_DemoTest001_Synthetic_N_1"))
    return ["--test_images_folder_path", str(f["imgs"]), "--test_gdfm_folder_path", str(f["gfdms"]),
            "--fixations_folder_path", str(constants.DEMO_TEST_FIXATIONS)]


@pytest.fixture(scope="session")
def fake(tmp_path_factory):
    """(OUT, rebuild's result) of one fake run (fake_run.build, with a sanity check), rebuilt by
    `python report.py`'s code: shared by the tests that only read its files."""
    import fake_run
    out = tmp_path_factory.mktemp("fake") / "out"
    return out, fake_run.build(out, sanity=True)


# The checks that need a process of their own and take long: each runs beside the suite, started at
# collection when a collected test reads its fixture, in Linux's idle class (the script puts itself
# there, as a host process: it takes no time slice from the tests). Fixture -> (script in tests/, the
# process's environment variables).
BACKGROUND = {"jax_checks": ("jax_checks.py", {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}),
              "demo_measured": ("demo_measure.py", {})}
STARTED = {}  # fixture -> {"proc", "dir"} of the processes started


def start_background(name):
    """Starts BACKGROUND[name]'s script (once) with a new temporary folder as its argument and working
    folder; its stderr goes to stderr.txt there."""
    import subprocess
    import tempfile
    if name not in STARTED:
        script, variables = BACKGROUND[name]
        out = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
        env.update(variables, MPLBACKEND="Agg")
        with (out / "stderr.txt").open("w") as log:  # the process writes to its own copy
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / script), str(out)],
                                    cwd=out, env=env, stdout=subprocess.DEVNULL, stderr=log)
        STARTED[name] = dict(proc=proc, dir=out)
    return STARTED[name]


def finish_background(name):
    """Waits for BACKGROUND[name]'s process (started now if it was not): {"dir", "stderr", "returncode"}."""
    import subprocess
    started = start_background(name)
    try:
        returncode = started["proc"].wait(timeout=900)
    except subprocess.TimeoutExpired:
        started["proc"].kill()
        returncode = started["proc"].wait()
    return dict(dir=started["dir"], stderr=(started["dir"] / "stderr.txt").read_text(), returncode=returncode)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session, config, items):
    """The background processes that a collected test reads start now; the tests that read them move to
    the end of the run (in their order), so that the processes run beside the others, not before them."""
    if config.option.collectonly:
        return
    read = [name for name in BACKGROUND if any(name in getattr(item, "fixturenames", ()) for item in items)]
    for name in read:
        start_background(name)
    items.sort(key=lambda item: any(name in getattr(item, "fixturenames", ()) for name in read))  # stable


def pytest_sessionfinish(session, exitstatus):
    import shutil
    for started in STARTED.values():
        if started["proc"].poll() is None:  # the run was cut short
            started["proc"].kill()
            started["proc"].wait()
        shutil.rmtree(started["dir"], ignore_errors=True)


@pytest.fixture(scope="session")
def jax_checks():
    """The one process on JAX (tests/jax_checks.py) of the checks that need one: {"dir": its output
    folder, "outcomes": {part: "ok" or its traceback}, "stderr": its stderr, "returncode"}. Each test
    reads its part."""
    import json
    found = finish_background("jax_checks")
    outcomes_file = found["dir"] / "outcomes.json"
    return dict(found, outcomes=json.loads(outcomes_file.read_text()) if outcomes_file.is_file() else {})


@pytest.fixture(scope="session")
def demo_measured():
    """demo_checks.measure of the demo model on the bundled split, computed by tests/demo_measure.py
    (RISE at the defaults on its 12 images: 48,000 evaluations): {name: array}."""
    found = finish_background("demo_measured")
    assert found["returncode"] == 0, found["stderr"][-3000:]
    with np.load(found["dir"] / "measured.npz") as saved:
        return {k: saved[k] for k in saved.files}


def jax_part(jax_checks, part):
    """Fails with the part's traceback (or the process's stderr) unless that part of jax_checks went through."""
    outcome = jax_checks["outcomes"].get(part, f"not run (exit status {jax_checks['returncode']}):\n"
                                               + jax_checks["stderr"][-3000:])
    assert outcome == "ok", f"{part} on JAX:\n{outcome}"


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """train.py (train.train) with the tiny backbone, one epoch on a 3-per-class demo training split,
    twice: "nested" (the defaults) and "inline" (--inline --save_optimizer). Per run {"path", "model"
    (the trained, compiled model), "optimizer" (what save_model was asked), "accuracy", "printed"}.
    Read only: shared by cli/test_train.py and cli/test_train_save.py."""
    import contextlib
    import io
    from xai_mexculture.cli import make_demo
    from xai_mexculture.cli import train
    root = tmp_path_factory.mktemp("trained_tiny")
    make_demo.generate_split(root, "train", 3, seed=1, with_gaze=False)
    argv = ["--train_dir", str(root / "images_train"), "--backbone", "tiny", "--weights", "none",
            "--epochs", "1", "--batch_size", "4", "--image_size", "64", "--verbose", "0", "--val_fraction", "0.34"]
    runs, real_save = {}, train.save_model
    for name, extra in (("nested", []), ("inline", ["--inline", "--save_optimizer"])):
        saved, printed = [], io.StringIO()

        def spy(model, path, optimizer=False):
            saved.append((model, optimizer))
            real_save(model, path, optimizer)
        path = root / f"{name}.keras"
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
            mp.setattr(train, "save_model", spy)
            accuracy = train.train(train.parse_args(argv + ["--output", str(path)] + extra))
        assert len(saved) == 1, saved
        runs[name] = dict(path=path, model=saved[0][0], optimizer=saved[0][1], accuracy=accuracy,
                          printed=printed.getvalue())
    return runs
