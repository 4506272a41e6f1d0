"""Layer search and graph surgery on Keras models: the only module that uses private Keras API.

Transfer-learned models often hold their backbone as one nested layer (a Functional or Sequential
model inside the classifier). Gradients with respect to a layer inside it cannot be taken on the
outer model as it stands, so `probe` runs the model layer by layer with every nested model inlined,
adds a tensor `delta` to the chosen layer's output (differentiating with respect to delta at 0
gives the gradient with respect to that activation, on any backend) and drops the final softmax
(Grad-CAM and its kin differentiate the pre-softmax score). The model itself is never modified.
"""
def _sublayers(layer):
    import keras
    return list(layer.layers) if isinstance(layer, keras.Model) else []


def _is_graph_model(layer) -> bool:
    import keras
    return isinstance(layer, keras.Model) and hasattr(layer, "_nodes_by_depth")


def _output_rank(layer):
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):
        return None


# Known last conv layers of common backbones (used when present in the model).
KNOWN_LAST_LAYERS = {"resnet": "conv5_block3_out", "resnet50": "conv5_block3_out",
                     "vgg16": "block5_conv3", "vgg19": "block5_conv4"}


def find_layer(model, name):
    """The layer called `name`, searched depth first through nested models; None if absent."""
    for layer in _sublayers(model):
        if layer.name == name:
            return layer
        found = find_layer(layer, name)
        if found is not None:
            return found
    return None


def _flat_layers(model):
    """Every layer, nested models recursed into, in the order they were added."""
    out = []
    for layer in _sublayers(model):
        out += _flat_layers(layer) if _sublayers(layer) else [layer]
    return out


def _is_conv(layer) -> bool:
    return "Conv" in type(layer).__name__  # Conv2D, DepthwiseConv2D, SeparableConv2D, ...


def get_last_layer_name(model, model_name=None) -> str:
    """Name of the last layer with a 4-D output (N, h, w, c) that comes after a convolution, inside
    nested backbones too (a Functional or Sequential model used as a layer). A known backbone family
    (`model_name`: ResNet, VGG16, ...) gives its usual layer when present. A model without conv
    layers is a ValueError (the CAM methods cannot work with it)."""
    known = KNOWN_LAST_LAYERS.get(str(model_name).lower()) if model_name else None
    if known and find_layer(model, known) is not None:
        return known
    layers = _flat_layers(model)
    first_conv = next((i for i, layer in enumerate(layers) if _is_conv(layer)), None)
    if first_conv is None:
        raise ValueError(f"model '{model.name}' has no conv layer (no feature maps for the CAM methods)")
    for layer in reversed(layers[first_conv:]):
        if _output_rank(layer) == 4:
            return layer.name
    raise ValueError(f"model '{model.name}' has no layer with a 4-D output after its conv layers")


def _final_layer(model):
    layer = _sublayers(model)[-1]
    return _final_layer(layer) if _sublayers(layer) else layer


def _is_softmax(fn) -> bool:
    import keras
    return fn is keras.activations.softmax or getattr(fn, "__name__", "") == "softmax"


def _without_softmax(layer):
    """A callable computing `layer` without its softmax: the pre-softmax class scores. The layer's
    own weights are used (its activation is switched off for the duration of the call)."""
    import keras
    if isinstance(layer, keras.layers.Softmax) or (
            isinstance(layer, keras.layers.Activation) and _is_softmax(layer.activation)):
        return lambda x, *args, **kwargs: x
    if not _is_softmax(getattr(layer, "activation", None)):
        return layer

    def call(*args, **kwargs):
        activation = layer.activation
        layer.activation = keras.activations.linear
        try:
            return layer(*args, **kwargs)
        finally:
            layer.activation = activation
    return call


def _run_inlined(model, inputs, hook):
    """Call `model` on `inputs` (symbolic or real tensors) layer by layer, recursing into nested
    models, with `hook(layer, run)` giving the callable used for each layer (`run` computes the
    layer as it is: a nested model inlined, or the layer itself)."""
    def runner(layer):
        if _sublayers(layer):
            return lambda *args, **kwargs: _run_inlined(layer, args[0], hook)
        return layer

    if _is_graph_model(model):
        return model._run_through_graph(inputs, operation_fn=lambda op: hook(op, runner(op)))
    x = inputs  # Sequential
    for layer in model.layers:
        x = hook(layer, runner(layer))(x)
    return x


def probe(model, layer_name):
    """fn(images, delta=None) -> (activations of `layer_name` (+ delta), pre-softmax scores (N, C)).

    Runs inside compiled code on either backend; `delta` (same shape as the activations) makes the
    activation a differentiable input: d score / d delta at delta = 0 is d score / d activation."""
    target = find_layer(model, layer_name)
    if target is None:
        raise ValueError(f"layer '{layer_name}' not found in model '{model.name}'")
    final = _final_layer(model)

    def fn(images, delta=None):
        captured = []

        def hook(layer, run):
            if layer is final:
                return _without_softmax(layer)
            if layer is target:
                def record(*args, **kwargs):
                    out = run(*args, **kwargs)
                    if delta is not None:
                        out = out + delta
                    captured.append(out)
                    return out
                return record
            return run

        logits = _run_inlined(model, images, hook)
        if isinstance(logits, (list, tuple)):
            logits = logits[0]
        if not captured:
            raise ValueError(f"layer '{layer_name}' is not on the path from the input to the output")
        return captured[0], logits
    return fn


def logits_fn(model):
    """fn(images) -> pre-softmax class scores (N, C): the model with its final softmax removed,
    nested backbones inlined (for gradients with respect to the input)."""
    final = _final_layer(model)

    def fn(images):
        out = _run_inlined(model, images, lambda layer, run: _without_softmax(layer) if layer is final else run)
        return out[0] if isinstance(out, (list, tuple)) else out
    return fn


def activation_shape(model, layer_name) -> tuple:
    """Shape (h, w, c) of one image's activations at `layer_name` (from a symbolic pass)."""
    import keras
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
    activations, _ = probe(model, layer_name)(inputs)
    return tuple(int(d) for d in activations.shape[1:])


def features_and_logits_model(model, layer_name):
    """A callable image batch -> (activations of `layer_name`, pre-softmax class scores), computed
    with the same layers (and weights) as `model`, nested backbones inlined. (A plain function, not
    a keras.Model: a rebuilt Functional model would run the final layer with its softmax again.)"""
    fn = probe(model, layer_name)
    return lambda images, training=False: fn(images)


def n_classes(model) -> int:
    """Number of classes of a classifier (the size of its output's last axis)."""
    return int(model.outputs[0].shape[-1])


def weighted_layers(model) -> list:
    """The layers that hold learned weights, nested models recursed into (a nested model is not a
    layer here: its own layers are), in the flattened layer order (`_flat_layers`). A layer counts
    when it created trainable weights (Conv2D, Dense, BatchNormalization's gamma and beta), also when
    it is frozen now (`layer.trainable = False` keeps them in `_trainable_variables`); a layer with
    only non-trainable state (Normalization's adapted mean and variance) does not count."""
    def learned(layer):
        created = getattr(layer, "_trainable_variables", None)
        if created is None:
            created = [v for v in layer.weights if v.trainable]
        return bool(created)
    return [layer for layer in _flat_layers(model) if learned(layer)]
