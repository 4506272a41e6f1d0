"""Transfer learning of a ResNet on a MexCulture-layout folder of images.

The class of each image comes from its file-name prefix (data.class_index). Preprocessing
(ResNet's preprocess_input) is a registered layer inside the saved model, so the model takes raw
RGB pixels in [0, 255]. A new softmax head is trained on a frozen backbone first; `--fine_tune_epochs`
then unfreezes the backbone at a lower learning rate. A backbone trained from scratch (`--weights
none`) is trainable from the start.

    # ResNet50 with ImageNet weights (Keras cache, or downloaded when online)
    python train.py --train_dir data/mexculture142/images_train --val_dir data/mexculture142/images_val
    # the bundled demo model
    python make_demo.py --split train --n_per_class 200 --no_gaze
    python train.py --train_dir demo_data/images_train --val_dir demo_data/images_test \
        --backbone tiny --weights none --epochs 12 --output models/demo_resnet.keras
"""
import logging
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.cli import make_demo
from xai_mexculture.core import data
from xai_mexculture.core import image_io
from xai_mexculture.core import model_io

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- backbones
def _residual_block(x, filters, stride, name):
    """Basic ResNet block: two 3x3 conv + BN, identity or 1x1-projection shortcut, ReLU."""
    from keras import layers
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)


def tiny_resnet(x, widths=(16, 32, 64)):
    """A small residual network for CPU-sized demos: a stride-4 stem, then one stride-2 residual
    block per width (the default, about 80 k parameters: 224 -> 7x7x64; widths (16, 32): 14x14x32
    with a receptive field of 79 pixels). Its stem filters have zero mean per input channel
    (model_layers.ZeroMean): it sees local contrast, not the colour or brightness of flat regions."""
    from keras import layers
    from xai_mexculture.core import model_layers
    x = layers.Conv2D(16, 7, strides=4, padding="valid", use_bias=False, name="stem_conv",
                      kernel_constraint=model_layers.ZeroMean())(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for i, filters in enumerate(widths):
        x = _residual_block(x, filters, 2, f"block{i + 1}")
    return x


def resnet50(x, weights):
    """Keras ResNet50 without its top, called on tensor x (its layers inlined into x's graph)."""
    import keras
    return keras.applications.ResNet50(include_top=False, weights=weights, input_tensor=x).output


def _resolve_weights(weights):
    if weights in (None, "none", "None"):
        return None
    if weights == "imagenet" or Path(weights).is_file():
        return weights
    raise SystemExit(f"--weights {weights}: neither 'imagenet', 'none' nor an existing weights file")


def build_model(num_classes, backbone="resnet50", weights="imagenet", input_size=constants.INPUT_SIZE,
                nested=True, dropout=0.2, tiny_widths=(16, 32, 64)):
    """Input (raw RGB) -> ResNetPreprocess -> backbone -> global average pool -> softmax head.

    nested=True wraps the backbone as one Functional layer (the usual transfer-learning layout);
    nested=False puts its layers directly in the model. Both work with every explainer.
    """
    import keras
    from keras import layers
    from xai_mexculture.core import model_layers

    weights = _resolve_weights(weights)
    if backbone == "tiny" and weights is not None:
        raise SystemExit("the tiny backbone has no pretrained weights: use --weights none")
    inputs = keras.Input(shape=tuple(input_size) + (3,), name="image")
    x = model_layers.ResNetPreprocess(name="preprocess")(inputs)

    def features(t):
        if backbone == "tiny":
            return tiny_resnet(t, tiny_widths)
        try:
            return resnet50(t, weights)
        except Exception as err:
            raise SystemExit(
                f"could not get the ResNet50 weights '{weights}' ({type(err).__name__}: {err}). "
                "Offline, put resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 in ~/.keras/models, "
                "pass a local weights file with --weights PATH, or train from scratch with --weights none."
            ) from err

    if nested:
        bb_in = keras.Input(shape=tuple(x.shape[1:]))
        backbone_model = keras.Model(bb_in, features(bb_in), name=f"{backbone}_backbone")
        x = backbone_model(x)
    else:
        x = features(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{backbone}_mexculture")


def backbone_layers(model):
    """Layers between the preprocessing and the head (the part frozen in the first phase)."""
    return [l for l in model.layers if l.name not in ("image", "preprocess", "avg_pool", "dropout", "predictions")]


# --------------------------------------------------------------------------- data
def load_folder(folder, input_size=constants.INPUT_SIZE, labelled=True):
    """All images of a MexCulture-layout folder as (x float32 [0,255], y int class index);
    labelled=False: any image names, y is None."""
    paths = data.list_images(folder)
    if not paths:
        raise SystemExit(f"{folder}: no images found")
    x = np.stack([image_io.load_image(p, input_size) for p in paths])
    y = np.array([data.class_index(p.name) for p in paths]) if labelled else None
    return x, y


def soft_targets(y, num_classes, n_background=0):
    """One-hot rows for class indices y, then n_background uniform rows (1 / num_classes each)."""
    hard = np.eye(num_classes, dtype=np.float32)[np.asarray(y, int)]
    uniform = np.full((n_background, num_classes), 1.0 / num_classes, np.float32)
    return np.concatenate([hard, uniform])


def area_targets(folder, areas_csv, gain):
    """Soft targets softmax(gain * a) for the images of a folder (in load_folder's order), a = the
    share of the image's pixels that show each class's texture, read from areas_csv (make_demo's
    areas_<split>.csv, read by make_demo.read_areas).
    Evidence then counts by its visible area: an image with a neighbour nearly as large as its
    labelled building gets a less certain target, one with the labelled panel mostly hidden the
    neighbour's class. A scene without texture gets 1/3 each, like the backgrounds."""
    rows = make_demo.read_areas(areas_csv)
    paths = data.list_images(folder)
    missing = [p.name for p in paths if p.stem not in rows]
    if missing:
        raise SystemExit(f"{areas_csv}: no areas for {len(missing)} images of {folder} (e.g. {missing[0]})")
    z = gain * np.array([rows[p.stem] for p in paths], np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def _augment(seed):
    import keras
    from keras import layers
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", interpolation="nearest", seed=seed + 1),
        layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 3),
    ], name="augment")


def uneven_light(gen, n, shape, low):
    """(n, H, W, 1) gains of the uneven-light augmentation from a tf.random.Generator: half of the
    images (at random) get a smooth field in [low, 1] (a 6 x 6 grid of uniform draws enlarged
    bilinearly: a cloud's shadow, a lit corner), the others 1 everywhere."""
    import tensorflow as tf
    field = tf.image.resize(gen.uniform([n, 6, 6, 1], low, 1.0), shape)
    lit = tf.cast(gen.uniform([n, 1, 1, 1]) < 0.5, tf.float32)
    return lit * field + (1.0 - lit)


def _dataset(x, y, batch_size, seed, augment, exposure=(1.0, 1.0), shadows=1.0):
    """Batches of (images, targets); augment: shuffled, flipped, shifted, zoomed, brightened, then
    multiplied by an exposure gain drawn uniformly in `exposure` per image and, with shadows < 1,
    half of the images by uneven light (a smooth field in [shadows, 1]: a 6 x 6 grid of uniform
    draws, bilinearly enlarged), clipped to 255."""
    import tensorflow as tf
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if augment:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        aug = _augment(seed)
        gains = tf.random.Generator.from_seed(seed + 4)

        def apply(a, b):
            n = tf.shape(a)[0]
            gain = gains.uniform([n, 1, 1, 1], exposure[0], exposure[1])
            if shadows < 1.0:
                gain = gain * uneven_light(gains, n, tf.shape(a)[1:3], shadows)
            return tf.clip_by_value(aug(a, training=True) * gain, 0.0, 255.0), b
        ds = ds.map(apply)
    return ds.prefetch(2)


def accuracy(model, x, y, batch_size=constants.BATCH_SIZE) -> float:
    """Top-1 accuracy of a model on images x with labels y."""
    pred = model_io.predict_batched(model, x, batch_size).argmax(axis=1)
    return float(np.mean(pred == np.asarray(y)))


def train(args):
    import keras
    keras.utils.set_random_seed(args.seed)
    size = (args.image_size, args.image_size)
    x, y = load_folder(args.train_dir, size)
    num_classes = len(constants.CLASS_NAMES)
    targets = (area_targets(args.train_dir, args.area_labels, args.area_gain) if args.area_labels
               else soft_targets(y, num_classes))
    if args.val_dir:
        xv, yv = load_folder(args.val_dir, size)
        val_targets = (area_targets(args.val_dir, args.val_area_labels, args.area_gain) if args.val_area_labels
                       else soft_targets(yv, num_classes))
    else:
        order = np.random.default_rng(args.seed).permutation(len(x))
        n_val = max(1, int(len(x) * args.val_fraction))
        val, fit_part = order[:n_val], order[n_val:]
        xv, yv, val_targets = x[val], y[val], targets[val]
        x, y, targets = x[fit_part], y[fit_part], targets[fit_part]
    if args.background_dir:
        xb, _ = load_folder(args.background_dir, size, labelled=False)
        x, targets = np.concatenate([x, xb]), np.concatenate([targets, soft_targets([], num_classes, len(xb))])
        print(f"{len(xb)} background images under uniform labels")
    model = build_model(num_classes, args.backbone, args.weights, size, nested=not args.inline,
                        tiny_widths=tuple(args.tiny_widths))
    pretrained = _resolve_weights(args.weights) is not None
    train_ds = _dataset(x, targets, args.batch_size, args.seed, augment=True, exposure=args.exposure,
                        shadows=args.shadows)
    val_ds = _dataset(xv, val_targets, args.batch_size, args.seed, augment=False)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing)

    def fit(epochs, lr):
        model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=["categorical_accuracy"])
        model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=args.verbose, shuffle=False)

    for layer in backbone_layers(model):
        layer.trainable = not pretrained
    fit(args.epochs, args.lr)
    if pretrained and args.fine_tune_epochs > 0:
        for layer in backbone_layers(model):
            layer.trainable = True
        fit(args.fine_tune_epochs, args.lr * 0.01)
    acc = accuracy(model, xv, yv)
    print(f"validation accuracy: {acc:.3f} ({len(yv)} images)")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out, optimizer=args.save_optimizer)
    print(f"saved {out}" + (" (with the optimizer's state)" if args.save_optimizer else ""))
    return acc


def save_model(model, path, optimizer=False):
    """Save `model` as a .keras file. Without `optimizer`, an uncompiled copy with the same weights
    is saved: architecture and weights only, no optimizer state (Adam's two moments per weight, about
    twice the weights' size) and no training configuration; the file is smaller and loads faster, and
    model_io.load_model gives the same predictions. With `optimizer`, the compiled model as Keras saves
    it (to resume training)."""
    import keras
    if not optimizer and getattr(model, "optimizer", None) is not None:
        copy = keras.Model.from_config(model.get_config())  # not compiled (clone_model compiles its copy)
        copy.set_weights(model.get_weights())
        model = copy
    model.save(str(path))


def parse_args(argv=None):
    from xai_mexculture.core import parsers
    p = parsers.ArgumentParser(prog="train.py", description="Transfer-learn a ResNet on a MexCulture-layout folder.")
    p.add_argument("--train_dir", required=True, help="folder of training images (SSS_XXX_YYY_N_#.png)")
    p.add_argument("--val_dir", help="folder of validation images (default: hold out --val_fraction)")
    p.add_argument("--val_fraction", type=float, default=0.2,
                   help="without --val_dir: the fraction of --train_dir held out for validation, in (0, 1)")
    p.add_argument("--background_dir", help="folder of images without any class (any names): trained "
                   "under uniform labels, 1 / n_classes each; never used for validation")
    p.add_argument("--exposure", type=float, nargs=2, default=(1.0, 1.0), metavar=("LOW", "HIGH"),
                   help="exposure augmentation: each training image times a gain drawn in [LOW, HIGH]")
    p.add_argument("--shadows", type=float, default=1.0, metavar="LOW",
                   help="uneven-light augmentation: half of the training images times a smooth field in [LOW, 1]")
    p.add_argument("--area_labels", metavar="CSV", help="soft targets softmax(gain x texture areas) from "
                   "make_demo's areas_<split>.csv of the training split, instead of one-hot classes")
    p.add_argument("--val_area_labels", metavar="CSV", help="the same for --val_dir (its loss; default one-hot)")
    p.add_argument("--area_gain", type=float, default=400.0, help="the gain of --area_labels")
    p.add_argument("--label_smoothing", type=float, default=0.0, help="label smoothing of the class targets")
    p.add_argument("--backbone", choices=["resnet50", "tiny"], default="resnet50",
                   help="ResNet50, or a small residual network (tests, quick checks)")
    p.add_argument("--tiny_widths", type=int, nargs="+", default=[16, 32, 64],
                   help="tiny backbone: filters of each stride-2 residual block")
    p.add_argument("--weights", default="imagenet", help="imagenet, none, or a local weights file")
    p.add_argument("--inline", action="store_true", help="inline the backbone layers (default: nested)")
    p.add_argument("--image_size", type=int, default=constants.INPUT_SIZE[0], help="model input (square)")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the first phase")
    p.add_argument("--fine_tune_epochs", type=int, default=0, help="epochs with the backbone unfrozen, after --epochs (needs "
                   "pretrained --weights: without them the backbone is trained from the start)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--batch_size", type=int, default=32, help="images per training step")
    p.add_argument("--seed", type=int, default=constants.SEED, help="seed of the split, the augmentation and "
                   "the initial weights")
    p.add_argument("--output", default="models/mexculture_resnet.keras", help="the .keras file written")
    p.add_argument("--save_optimizer", action="store_true",
                   help="also save the optimizer's state (to resume training; about 3x the file size)")
    p.add_argument("--verbose", type=int, default=2, help="Keras' fit verbosity: 0 silent, 1 a bar, 2 a line "
                   "per epoch")
    args = p.parse_args(argv)
    for flag in ("train_dir", "val_dir", "background_dir"):
        folder = getattr(args, flag)
        if folder is not None and not Path(folder).is_dir():
            p.error(f"--{flag} {folder}: " + ("is a file, not a folder" if Path(folder).exists() else "no such folder"))
    for flag in ("area_labels", "val_area_labels"):
        path = getattr(args, flag)
        if path is not None and not Path(path).is_file():
            p.error(f"--{flag} {path}: no such file")
    if args.val_dir is None and not 0 < args.val_fraction < 1:
        p.error(f"--val_fraction must be in (0, 1) (the part of --train_dir held out), not {args.val_fraction}")
    if args.epochs < 0 or args.fine_tune_epochs < 0 or args.epochs + args.fine_tune_epochs < 1:
        p.error("--epochs and --fine_tune_epochs must be >= 0, and train for one epoch at least")
    if args.fine_tune_epochs > 0 and args.weights in ("none", "None"):
        p.error(f"--fine_tune_epochs {args.fine_tune_epochs} with --weights none: fine-tuning needs pretrained "
                f"weights (imagenet or a file); without them the backbone is trained from the start, so give all "
                f"the epochs to --epochs")
    for flag in ("batch_size", "image_size"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag} must be >= 1")
    if args.lr <= 0:
        p.error(f"--lr must be > 0, not {args.lr}")
    return args


if __name__ == "__main__":
    train(parse_args())
