import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench  # noqa: E402


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.md"
    rows = bench.main(["--models", "demo", "--quick", "--memory", "--output", str(out)])
    text = out.read_text()
    for measure in ("forward-pass limit", "GRADCAM on 12 images", "FEM on 12 images", "RISE (64 evaluations)",
                    "LIME model part (32 samples)", "insertion (step", "deletion (step", "4 maps together",
                    "lime package, plain", "model.predict", "peak RSS", "Backend: tensorflow",
                    "MuFidelity (32 samples)", "sAUC", "Sparseness", "MaxSensitivity",
                    "ROAD per map and order (1 levels)"):
        assert measure in text, measure
    import explainers
    for method in explainers.names():  # every registered method has its row
        assert f"| demo | {method} " in text, method
    ratios = [r[5] for r in rows if r[5] is not None]
    assert ratios and all(r > 0 for r in ratios)
