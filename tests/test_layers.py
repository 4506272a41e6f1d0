"""The package's one-way layers: every import of xai_mexculture (at module level and inside
functions) goes to the importing module's own layer or a lower one (xai_mexculture.LAYERS), and the
imports make no loop; the seed's files are short faces over the package."""
import ast
import importlib
from pathlib import Path

import pytest

import xai_mexculture

ROOT = Path(__file__).resolve().parents[1]
FACES = ("main", "utils", "representations", "GradCAM", "FEM", "RISE", "LIME", "evaluate")
COMMANDS = ("report", "merge", "train", "make_demo", "prepare_data")


def module_name(path, root=ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, modules, root=ROOT) -> set:
    """The package's modules that `path` imports anywhere in its text: `from pkg import sub` is an
    import of pkg.sub when sub is a module (not of pkg's __init__), else of pkg."""
    me = module_name(path, root)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != me:
                found.add(target)
    return found


def graph(root=ROOT) -> dict:
    """{module: the package modules it imports} of every module of root/xai_mexculture."""
    paths = {module_name(p, root): p for p in sorted((root / "xai_mexculture").rglob("*.py"))}
    return {name: imports_of(path, paths, root) for name, path in paths.items()}


def layer(module) -> int:
    """The index in LAYERS of a module's sub-package (-1: the package's own __init__)."""
    parts = module.split(".")
    return xai_mexculture.LAYERS.index(parts[1]) if len(parts) > 1 else -1


def upward(edges) -> list:
    return sorted((a, b) for a, targets in edges.items() for b in targets if layer(b) > layer(a))


def cycles(edges) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_every_module_belongs_to_a_layer():
    assert {m.split(".")[1] for m in graph() if "." in m} == set(xai_mexculture.LAYERS)


def test_no_import_goes_up_a_layer():
    assert upward(graph()) == []


def test_the_imports_make_no_loop():
    assert cycles(graph()) == []


def test_the_checks_catch_an_upward_import_and_a_loop(tmp_path):
    """The two checks on a toy package: core importing run (up) and run <-> run.other (a loop),
    through a function-level import as well as a module-level one."""
    pkg = tmp_path / "xai_mexculture"
    for sub in ("core", "run"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("def f():\n    from xai_mexculture.run import b\n")
    (pkg / "run" / "b.py").write_text("from xai_mexculture.run import c\n")
    (pkg / "run" / "c.py").write_text("def g():\n    import xai_mexculture.run.b\n")
    edges = graph(tmp_path)
    assert upward(edges) == [("xai_mexculture.core.a", "xai_mexculture.run.b")]
    assert cycles(edges) == [["xai_mexculture.run.b", "xai_mexculture.run.c"]]


@pytest.mark.parametrize("name", FACES + COMMANDS)
def test_the_seed_files_and_commands_are_short_faces(name):
    """Each is imports and re-exports (and the command's two lines), at most 30 lines, defining no
    function but utils.grid_layout (the seed's name, drawn by render/figures.py)."""
    path = ROOT / f"{name}.py"
    tree = ast.parse(path.read_text())
    assert len(path.read_text().splitlines()) <= 30
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == (["grid_layout"] if name == "utils" else [])


def test_the_faces_give_the_package_objects():
    """The seed's names (DESIGN.md's contracts) are the package's objects, not copies."""
    from xai_mexculture.core import data, model_graph
    from xai_mexculture.explainers import fem, gradcam, lime_method, rise
    from xai_mexculture.metrics import causal, gaze
    faces = {name: importlib.import_module(name) for name in FACES}
    assert faces["utils"].get_image_index is data.class_index
    assert faces["utils"].get_last_layer_name is model_graph.get_last_layer_name
    assert faces["GradCAM"].GradCAM is gradcam.GradCAM and faces["FEM"].FEM is fem.FEM
    assert faces["RISE"].RISE is rise.RISE and faces["LIME"].explain_with_lime is lime_method.explain_with_lime
    assert faces["evaluate"].calculate_pcc is gaze.calculate_pcc
    assert faces["evaluate"].deletion is causal.deletion and faces["evaluate"].calculate_auc is causal.calculate_auc
    assert callable(faces["main"].main) and callable(faces["representations"].represent_heatmap)
