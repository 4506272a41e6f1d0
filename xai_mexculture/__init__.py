"""xai_mexculture: explain image classifiers with saliency methods and score the maps against human
gaze and against the model.

The package is built in one-way layers: a module imports only from its own layer or the layers
below it (tests/test_layers.py checks every import, at module level and inside functions):

    core        arrays, images, data set naming, models, backends, statistics, safe files, locks
    explainers  the method registry and interface, the CAM and gradient families, one module per method
    metrics     the metric registry, then gaze / causal / sAUC / MuFidelity / properties / ROAD /
                scanpaths, each declaring the metrics it computes; the reference maps; the sanity check
    results     the result tables (rows, summary, comparisons) and the saved arrays
    render      style, per-image figures, run plots, report.html, and `rebuild` above them
    run         exit statuses, options, the per-image stage (called by the serial, pipelined and Ray
                runs), the output folder, the pipeline, Ray, merging shards, the whole run
    cli         the commands: main, train, make_demo, prepare_data, demo_checks

constants.py (beside main.py) holds every default and sits below all of them. The seed's files
(main.py, utils.py, representations.py, GradCAM.py, FEM.py, RISE.py, LIME.py, evaluate.py) and the
commands report.py, merge.py, train.py, make_demo.py, prepare_data.py are short faces over this
package.
"""
LAYERS = ("core", "explainers", "metrics", "results", "render", "run", "cli")
