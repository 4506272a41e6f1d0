"""train.py saves the model without the optimizer's state unless --save_optimizer: a smaller file with
the same predictions."""
import zipfile

import numpy as np

from xai_mexculture.cli import train
from xai_mexculture.core import model_io


def _optimizer_variables(path) -> int:
    """How many optimizer variables a .keras file holds (the datasets under `optimizer` in its
    model.weights.h5)."""
    import h5py
    found = []
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as fh, h5py.File(fh, "r") as h5:
        if "optimizer" in h5:
            h5["optimizer"].visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return len(found)


def test_the_model_is_saved_without_the_optimizer_unless_asked(trained_tiny, tmp_path):
    plain, model = trained_tiny["nested"]["path"], trained_tiny["nested"]["model"]
    assert model.optimizer is not None and not trained_tiny["nested"]["optimizer"]  # compiled and trained, saved without
    kept = tmp_path / "kept.keras"
    train.save_model(model, kept, optimizer=True)  # the same weights with the optimizer's state
    assert _optimizer_variables(plain) == 0
    assert _optimizer_variables(kept) >= 2 * len(model.trainable_weights)  # Adam: two moments per weight
    assert plain.stat().st_size < 0.6 * kept.stat().st_size
    x = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype(np.float32)
    loaded, with_optimizer = model_io.load_model(plain), model_io.load_model(kept)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(model_io.predict_batched(loaded, x), model_io.predict_batched(with_optimizer, x))
    np.testing.assert_allclose(model_io.predict_batched(loaded, x), model_io.predict_batched(model, x), atol=1e-6)

    asked = trained_tiny["inline"]  # trained with --save_optimizer (and --inline)
    assert asked["optimizer"] and _optimizer_variables(asked["path"]) >= 2 * len(asked["model"].trainable_weights)
    # a loaded model (not compiled: no optimizer attribute) saves as it is
    resaved = tmp_path / "resaved.keras"
    train.save_model(loaded, resaved)
    np.testing.assert_array_equal(model_io.predict_batched(model_io.load_model(resaved), x), model_io.predict_batched(loaded, x))


def test_a_loaded_model_holds_the_file_values_without_drawing_initial_ones(tmp_path, monkeypatch):
    """model_io.load_model creates the variables without running their initialisers (on JAX each one of
    a new shape is an XLA compilation) and sets them from the file: the same weights and predictions
    as the saved model; only what the file lacks (the dropout's seed state) is initialised."""
    import keras
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dropout(0.5, seed=3, name="drop")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="dense")(x))
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) + (2.0 if "variance" in w.path else 0.0)
                       for w in model.weights])
    path = tmp_path / "m.keras"
    train.save_model(model, path)
    variable_class = type(model.weights[0])  # the backend's
    drawn, real = [], variable_class._initialize_with_initializer

    def spy(self, initializer):
        drawn.append(self.path)
        return real(self, initializer)
    monkeypatch.setattr(variable_class, "_initialize_with_initializer", spy)
    loaded = model_io.load_model(path)
    assert drawn and all("seed_generator" in p for p in drawn), drawn
    assert len(loaded.weights) == len(model.weights)
    for saved, got in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(got.value), np.asarray(saved.value), err_msg=saved.path)
    x = rng.uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(model_io.predict_batched(loaded, x), model_io.predict_batched(model, x))
    for weight in loaded.get_layer("dense").weights:  # ordinary variables: assigning changes the output
        weight.assign(np.zeros(weight.shape, np.float32))
    np.testing.assert_allclose(model_io.predict_batched(loaded, x), 1 / 3, atol=1e-6)


def test_a_model_whose_layer_makes_a_variable_from_an_array_still_loads(tmp_path):
    """A custom layer that builds a variable from a value (not an initialiser) cannot be made without
    running it: model_io.load_model then loads the plain way, with the file's values."""
    import keras

    @keras.saving.register_keras_serializable(package="tests")
    class Offset(keras.layers.Layer):
        def build(self, input_shape):
            self.offset = keras.Variable(np.ones(input_shape[-1:], np.float32), name="offset")

        def call(self, x):
            return x + self.offset
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(Offset()(inputs)))
    model.layers[1].offset.assign(np.arange(4, dtype=np.float32))
    path = tmp_path / "offset.keras"
    train.save_model(model, path)
    loaded = model_io.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded.layers[1].offset.value), np.arange(4))
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_array_equal(model_io.predict_batched(loaded, x), model_io.predict_batched(model, x))
