"""The layers of docs/ARCHITECTURE.md hold: the import-linter contracts of pyproject.toml pass, and no two
clipmg_lib modules import each other, directly or through others (lazy imports inside functions count)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import grimp
import pytest

import clipmg_lib
import deadline_subprocess

REPO = Path(__file__).resolve().parents[1]


def import_cycles(graph) -> list[list[str]]:
    """Every strongly connected set of modules (Tarjan, iterative), as a list of module names; a set of two or
    more modules is a cycle, and so is one module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1 or node in graph.find_modules_directly_imported_by(node):
                    found.append(sorted(component))
    return found


def test_tarjan_finds_a_cycle_and_only_cycles():
    graph = grimp.ImportGraph()
    for a, b in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.d", "p.e")]:
        graph.add_import(importer=a, imported=b)
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]
    graph.remove_import(importer="p.c", imported="p.a")
    assert import_cycles(graph) == []


def test_no_import_cycle_between_clipmg_lib_modules():
    assert Path(clipmg_lib.__file__).resolve().parent == REPO / "clipmg_lib", "the checkout's clipmg_lib is not the one imported"
    graph = grimp.build_graph("clipmg_lib", cache_dir=None)
    cycles = import_cycles(graph)
    detail = []
    for component in cycles:
        inside = set(component)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph.find_modules_directly_imported_by(a)) if b in inside]
        detail.append("; ".join(edges))
    assert not cycles, "import cycles:\n" + "\n".join(detail)


@pytest.mark.timeout(300)
def test_import_linter_contracts_pass():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports not found: pip install -r requirements.lock (import-linter)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # --no-cache: nothing is written inside the checkout
    res = deadline_subprocess.run([exe, str(REPO / "pyproject.toml"), "--no-cache"], timeout=240,
                                  cwd=REPO, env=env)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert "0 broken" in res.stdout
