"""The package's shape: one import name, layers that point one way, no cycles,
no reaching into another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the folders that install under circle15.* (pyproject's package-dir)
FOLDERS = {"circle15": ROOT / "circle15", "circle15.geo": ROOT / "geo",
           "circle15.maps": ROOT / "maps", "circle15.api": ROOT / "api"}


def _modules() -> dict[str, Path]:
    out = {}
    for prefix, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            out.setdefault(name, path)
    return out


MODULES = _modules()


def _imports(path: Path, *, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(module, names) of every circle15 import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "circle15"):
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("circle15")]
    return found


def test_every_module_is_found():
    assert "circle15.geo.network.graph" in MODULES and "circle15.api.routers.stations" in MODULES
    assert "circle15.usecases.area" in MODULES


def test_no_import_cycles():
    G = nx.DiGraph()
    for name, path in MODULES.items():
        for module, names in _imports(path, top_level_only=True):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            for target in targets or [module]:
                if target in MODULES and target != name:
                    G.add_edge(name, target)
    # a package's __init__ re-exporting its own modules is not a cycle of stages
    G.remove_edges_from([(a, b) for a, b in list(G.edges) if b.startswith(a + ".")])
    assert G.number_of_edges() > 100  # the graph really holds the imports
    cycles = list(nx.simple_cycles(G))
    assert cycles == [], f"import cycles: {cycles[:3]}"


def test_no_module_imports_another_modules_private_names():
    bad = [(name, module, n) for name, path in MODULES.items()
           for module, names in _imports(path, top_level_only=False)
           for n in names if n.startswith("_") and module != name]
    assert bad == []


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("circle15.geo", ("circle15.maps", "circle15.api", "circle15.usecases", "circle15.cli")),
    ("circle15.maps", ("circle15.api", "circle15.usecases", "circle15.cli")),
    ("circle15.usecases", ("circle15.api", "circle15.cli")),
])
def test_layers_point_one_way(layer, forbidden):
    bad = [(name, module) for name, path in MODULES.items() if name.startswith(layer + ".")
           or name == layer for module, _ in _imports(path, top_level_only=False)
           if module.startswith(forbidden)]
    assert bad == []


def test_modules_stay_small():
    # one job per module: the biggest stay under ~400 lines
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 420}
    assert long == {}


def test_geo_is_grouped_by_stage():
    # the computation layer is split into stage packages, none of them a grab bag
    folders = [ROOT / "geo", *sorted(p.parent for p in (ROOT / "geo").glob("*/__init__.py"))]
    assert len(folders) >= 8
    for folder in [*folders, ROOT / "maps", ROOT / "api", ROOT / "circle15"]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 12, f"{folder} holds {len(modules)} modules"
    for folder in folders[1:]:
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
        assert doc and doc.startswith("Stage: ") and "Public names" in doc, folder


def _external_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
    return out


def test_the_core_knows_no_front_end():
    # geo computes; it knows nothing of HTTP or of the command line's parser
    front = {"fastapi", "starlette", "argparse", "http", "uvicorn", "pydantic_settings"}
    bad = {name: sorted(_external_imports(path) & front) for name, path in MODULES.items()
           if name.startswith("circle15.geo") and _external_imports(path) & front}
    assert bad == {}


def test_compiled_kernels_are_private_to_their_package():
    # a module named _x is reached only from its own package; others go through its
    # public face (circle15.geo.snapping.compiled)
    bad = []
    for name, path in MODULES.items():
        for module, _ in _imports(path, top_level_only=False):
            parts = module.split(".")
            private = [i for i, p in enumerate(parts) if p.startswith("_")]
            if private and not name.startswith(".".join(parts[:private[0]]) + "."):
                bad.append((name, module))
    assert bad == []
