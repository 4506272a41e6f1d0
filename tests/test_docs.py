"""The documentation: README.md stays short, every code block of README.md and docs/*.md is run by a
test or marked as not run, and every relative link points to an existing file (and heading).

The marker (docs/development.md, "Code blocks in the documentation"): a block whose first line is a
comment starting with `# not run in tests` is not run. Every other block is in RUN_BY below, with
the test that runs it."""
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
MARKER = "# not run in tests"
MAX_README_LINES = 250

# (file, first line of the block) -> what runs it: "tests/<module>.py::<test function>", or "CI: ..."
# for the README's set-up commands, which .ci/run runs (it installs requirements.txt and runs
# `python -m pytest -q tests`).
RUN_BY = {
    ("README.md", "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt"
                  " && python main.py"):
        # the install is .ci/run's; `python main.py` on the demo (fewer images and samples) is this test's
        "tests/run/test_runner.py::test_command_line_default_data_and_model",
    ("README.md", "apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver"
                  " && python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt"
                  " && python -m pytest -q tests"):
        "CI: .ci/run",
    ("docs/extending.md", "# EDGES.py, beside main.py"):
        "tests/explainers/test_explainer_registry.py::test_the_readme_example_method_works",
    ("docs/extending.md", "# PEAK_GAZE.py, beside main.py"):
        "tests/metrics/test_metric_registry.py::test_the_docs_example_metric_works",
    ("docs/extending.md", "import numpy as np"):
        "tests/test_docs.py::test_the_python_example_of_extending_runs",
    ("docs/backends.md", "python main.py --backend jax            # or KERAS_BACKEND=jax python main.py"):
        "tests/core/test_backend.py::test_main_runs_on_jax_with_the_backend_flag_and_keeps_the_compiled_programs",
    ("docs/performance.md", "python benchmarks/bench.py --models demo --quick"):
        "tests/test_bench.py::test_benchmark_rows",
}

FENCE = re.compile(r"^```([A-Za-z]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _name(path):
    return path.relative_to(ROOT).as_posix()


def code_blocks(path):
    """(language, text) of every fenced block of a Markdown file, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]


def _first_line(text):
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _block(name, first_line):
    for _, text in code_blocks(ROOT / name):
        if _first_line(text) == first_line:
            return text
    raise AssertionError(f"{name}: no code block starts with {first_line!r}")


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines (at most {MAX_README_LINES}: move the rest to docs/)"


def test_every_code_block_is_run_or_marked_not_run():
    unlisted = []
    for path in DOCS:
        for i, (_, text) in enumerate(code_blocks(path)):
            first = _first_line(text)
            if first.startswith(MARKER):
                continue
            if (_name(path), first) not in RUN_BY:
                unlisted.append(f"{_name(path)} block {i}: {first!r}")
    assert not unlisted, ("code blocks neither marked '# not run in tests' nor listed in "
                          "tests/test_docs.py's RUN_BY:\n" + "\n".join(unlisted))


def test_every_listed_block_exists_and_its_test_too():
    for (name, first), runner in RUN_BY.items():
        _block(name, first)  # the block is still there, unmarked
        if runner.startswith("CI: "):
            ci = (ROOT / runner[4:]).read_text()
            assert "python -m pytest -q tests" in ci and "pip install -q -r requirements.txt" in ci
            assert "python -m pytest -q tests" in _block(name, first)
            continue
        module, function = runner.split("::")
        folders = [str(ROOT / "tests"), str((ROOT / module).parent)]
        sys.path[:0] = folders
        try:
            test = getattr(importlib.import_module(Path(module).stem), function, None)
        finally:
            for folder in folders:
                sys.path.remove(folder)
        assert callable(test), f"{name}: {runner} does not exist"


def test_the_readme_set_up_commands_are_the_two_that_ci_runs():
    blocks = [text for _, text in code_blocks(ROOT / "README.md")][:2]
    assert [_first_line(b) for b in blocks] == [first for name, first in RUN_BY if name == "README.md"]


def _anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_every_relative_link_points_to_an_existing_file():
    broken = []
    for path in DOCS:
        text = FENCE.sub("", path.read_text())
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("<"):
                continue  # http:, https:, mailto:
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                broken.append(f"{_name(path)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{_name(path)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_figure_is_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert images, "the README shows one figure of a run"
    for image in images:
        assert (ROOT / image).stat().st_size < 400_000, image


@pytest.mark.filterwarnings("ignore")
def test_the_python_example_of_extending_runs(monkeypatch):
    """docs/extending.md's "Calling a method from Python", as written (the demo model, 2 images)."""
    monkeypatch.chdir(ROOT)
    scope = {}
    exec(compile(_block("docs/extending.md", "import numpy as np"), "docs/extending.md", "exec"), scope)
    maps = scope["maps"]
    assert maps.shape == (2, 224, 224) and maps.min() >= 0 and maps.max() == pytest.approx(1.0)
