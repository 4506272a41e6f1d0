"""Every default of the project in one place.

Paths are relative to the repository root (this file's folder), so the tool runs from anywhere.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# Classes, sorted by name: the class index of an image comes from its file-name prefix.
CLASS_NAMES = ("Colonial", "Modern", "Prehispanic")

# Model input (height, width).
INPUT_SIZE = (224, 224)

# Bundled demo data and model.
DEMO_DIR = ROOT / "demo_data"
DEMO_TEST_IMAGES = DEMO_DIR / "images_test"
DEMO_TEST_GFDM = DEMO_DIR / "gazefixationsdensitymaps"
DEMO_TEST_FIXATIONS = DEMO_DIR / "fixations"
DEMO_TEST_SCANPATHS = DEMO_DIR / "scanpaths"
DEMO_MODEL = ROOT / "models" / "demo_resnet.keras"
DEMO_IMAGE_SIZE = (240, 320)  # (height, width) of generated demo images
DEMO_SEED = 142
DEMO_N_TEST_PER_CLASS = 4

# Gaze fixation density maps (Wooding 2002). One Gaussian per fixation with sigma ~ 2 degrees of
# visual angle expressed in pixels. For the MexCulture142 recording set-up this is about 42 px.
GFDM_SIGMA_MEXCULTURE = 42.0
# The demo images are smaller (320 x 240), so their maps use a proportionally smaller sigma.
GFDM_SIGMA_DEMO = 14.0

# Image files recognised in a folder (anything else is skipped silently).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

# Explainers.
FEM_K = 2.0
RISE_N_MASKS = 4000
RISE_MASK_SIZE = 7
RISE_P = 0.5
RISE_CHUNK = 256  # masks per chunk of the numpy reference (RISE.generate_masks)
LIME_NUM_SAMPLES = 1000
LIME_KERNEL_SIZE = 4
LIME_MAX_DIST = 200
LIME_RATIO = 0.2
LIME_NUM_FEATURES = 5  # superpixels kept in LIME's binary mask

# Scoring and metrics.
BATCH_SIZE = 64
# Compile the batched model calls ("on": XLA on TensorFlow, jax.jit on JAX; "off": plain
# tf.function / op by op); on TensorFlow, falls back to plain tf.function where XLA cannot compile.
JIT_COMPILE = "on"
STEP = 224  # pixels changed per insertion/deletion step
BLUR_KSIZE = 11
BLUR_SIGMA = 5.0
DELETION_BASELINE = 0.0  # black (the RISE paper); the API also takes "blur", "mean", an array
INSERTION_START = "blur"  # or "black", "mean", a number, an array

# Honest numbers. A map is flat (it ranks no pixel; every metric is left empty, with a note) when its
# range, negatives clipped as the normalisation does, is at most FLAT_TOLERANCE of its maximum (an
# all-zero map included). The explained class is "not seen" when the model gives it a probability
# below MIN_CLASS_PROBABILITY on the full image. A stochastic map's split-half reliability below
# MIN_RELIABILITY is listed in the summary ("more samples needed").
FLAT_TOLERANCE = 1e-6
MIN_CLASS_PROBABILITY = 1e-4
MIN_RELIABILITY = 0.9

# Representation.
COLORMAP = "jet"
OVERLAY_ALPHA = 0.5

# ROAD (Rong et al., ICML 2022), run with --road: percentages of pixels removed, noise of the linear
# imputation (pixel units), tie-breaking jitter of the [0, 1]-scaled map.
ROAD_PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
ROAD_NOISE_STD = 0.01 * 255
ROAD_JITTER = 1e-4

SEED = 0
