import numpy as np
import pytest

from xai_mexculture.cli import make_demo
from xai_mexculture.cli import train
from xai_mexculture.core import model_graph
from xai_mexculture.core import model_io


def test_train_saves_a_model_that_loads_and_predicts(trained_tiny):
    for name, inline in (("nested", False), ("inline", True)):  # the default, then --inline
        run = trained_tiny[name]
        assert 0.0 <= run["accuracy"] <= 1.0
        model = model_io.load_model(run["path"])
        names = [l.name for l in model.layers]
        assert ("tiny_backbone" in names) != inline  # nested by default, inlined with --inline
        assert names[1] == "preprocess"  # preprocessing is inside the saved model
        probs = model_io.predict_batched(model, np.full((2, 64, 64, 3), 128, np.float32))
        assert probs.shape == (2, 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
        assert model_graph.get_last_layer_name(model) == "block3_out"
        assert "validation accuracy" in run["printed"]


def test_area_targets_are_a_softmax_of_the_texture_areas(tmp_path):
    make_demo.generate_split(tmp_path, "train", 2, seed=1, with_gaze=False, occlude=1.0)
    folder, csv = tmp_path / "images_train", tmp_path / make_demo.AREAS_FILE.format(split="train")
    rows = [line.split(",") for line in csv.read_text().splitlines()[1:]]
    order = {r[0]: np.array(r[1:], float) for r in rows}
    got = train.area_targets(folder, csv, gain=400.0)
    for target, path in zip(got, sorted(folder.iterdir())):
        e = np.exp(400.0 * order[path.stem])
        np.testing.assert_allclose(target, e / e.sum(), rtol=1e-5)
    assert got.shape == (6, 3)
    np.testing.assert_allclose(train.area_targets(folder, csv, gain=0.0), 1 / 3, rtol=1e-6)  # no gain: uniform
    csv.write_text("stem,A,B,C\n")
    with pytest.raises(SystemExit, match="areas_train.csv: expected the header"):
        train.area_targets(folder, csv, 400.0)
    csv.write_text("stem,Colonial,Modern,Prehispanic\n" + ",".join(rows[0]) + "\n")
    with pytest.raises(SystemExit, match="no areas for 5 images"):
        train.area_targets(folder, csv, 400.0)
    csv.write_text("stem,Colonial,Modern,Prehispanic\n" + ",".join(rows[0][:3]) + "\n")
    with pytest.raises(SystemExit, match="areas_train.csv, line 2: 2 areas, expected 3"):
        train.area_targets(folder, csv, 400.0)
    with pytest.raises(SystemExit, match="nothing.csv: no such file"):
        train.area_targets(folder, tmp_path / "nothing.csv", 400.0)


def test_preprocess_layer_matches_keras_resnet_preprocessing():
    import keras
    from xai_mexculture.core import model_layers
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    expected = keras.applications.resnet.preprocess_input(x.copy())
    np.testing.assert_allclose(model_layers.ResNetPreprocess()(x).numpy(), expected, atol=1e-4)


def test_offline_imagenet_weights_fail_with_a_clear_message(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")
    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    with pytest.raises(SystemExit, match="--weights none"):
        train.build_model(3, "resnet50", "imagenet")
    with pytest.raises(SystemExit, match="neither 'imagenet'"):
        train.build_model(3, "resnet50", "/no/such/weights.h5")
    with pytest.raises(SystemExit, match="tiny backbone"):
        train.build_model(3, "tiny", "imagenet")


def test_uneven_light_is_smooth_within_its_range_and_seeded():
    import tensorflow as tf
    fields = [train.uneven_light(tf.random.Generator.from_seed(5), 40, (48, 64), 0.35).numpy() for _ in range(2)]
    np.testing.assert_array_equal(fields[0], fields[1])  # the same seed, the same light
    f = fields[0][..., 0]
    assert f.shape == (40, 48, 64) and f.min() >= 0.35 - 1e-6 and f.max() <= 1.0 + 1e-6
    plain = np.all(f == 1.0, axis=(1, 2))
    assert 10 <= plain.sum() <= 30  # about half of the images keep their light
    shaded = f[~plain]
    assert shaded.min(axis=(1, 2)).max() < 1.0 and shaded.min() < 0.5  # the others get shadows
    assert np.abs(np.diff(shaded, axis=2)).max() < 0.1  # smooth: no edge a texture could be made of


def test_bad_training_flags_are_refused_before_any_work(tmp_path, capsys):
    """A missing folder was a traceback; --val_fraction 1.5 a TensorFlow traceback; --epochs 0 saved
    an untrained model (exit 0)."""
    (tmp_path / "imgs").mkdir()
    (tmp_path / "a.txt").write_text("x")
    base = ["--weights", "none", "--backbone", "tiny", "--output", str(tmp_path / "m.keras")]
    for extra, said in ((["--train_dir", str(tmp_path / "missing")], "missing: no such folder"),
                        (["--train_dir", str(tmp_path / "a.txt")], "a.txt: is a file, not a folder"),
                        (["--train_dir", str(tmp_path / "imgs"), "--val_fraction", "1.5"],
                         "--val_fraction must be in (0, 1)"),
                        (["--train_dir", str(tmp_path / "imgs"), "--epochs", "0"], "train for one epoch at least"),
                        (["--train_dir", str(tmp_path / "imgs"), "--lr", "0"], "--lr must be > 0"),
                        (["--train_dir", str(tmp_path / "imgs"), "--area_labels", str(tmp_path / "no.csv")],
                         "no.csv: no such file")):
        with pytest.raises(SystemExit):
            train.parse_args(base + extra)
        assert said in capsys.readouterr().err, extra
    assert not (tmp_path / "m.keras").exists()
    args = train.parse_args(base + ["--train_dir", str(tmp_path / "imgs"), "--epochs", "0", "--fine_tune_epochs", "1",
                                    "--weights", "imagenet"])
    assert args.fine_tune_epochs == 1  # fine-tuning alone is a training (of a pretrained backbone)


def test_help_shows_every_default_that_is_a_value(capsys):
    """--seed's default 0 was hidden (0 == False); None and off flags show none."""
    from xai_mexculture.run import options
    text = " ".join(options.build_parser().format_help().split())
    assert "combined with each image's name) (default: 0)" in text
    assert "--n_images N_IMAGES only the first N images (sorted by name) --shard" in text  # None: no "(default"
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 0.2)" in text and "(default: None)" not in text and "Adam's learning rate (default: 0.001)" in text
