"""The notebooks' façades re-export only (no logic in clipmg_lib.api), and notebooks import only from them."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import types
from pathlib import Path

import nbformat
import pytest

import clipmg_lib.api

REPO = Path(__file__).resolve().parents[1]
FACADES = sorted(m.name for m in pkgutil.iter_modules(clipmg_lib.api.__path__))


def test_there_are_facades():
    assert {"notebook", "data", "pose", "model", "training", "evaluation", "spotting", "affect"} <= set(FACADES)


@pytest.mark.parametrize("name", FACADES)
def test_facade_reexports_only(name):
    mod = importlib.import_module(f"clipmg_lib.api.{name}")
    assert sorted(mod.__all__) == sorted(set(mod.__all__)), "duplicate names in __all__"
    for attr in mod.__all__:
        obj = getattr(mod, attr)
        home = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
        if home is not None:
            assert not home.startswith("clipmg_lib.api"), f"{name}.{attr} is defined in the façade"
            assert home.startswith("clipmg_lib."), f"{name}.{attr} comes from {home}, not the library"
    tree = ast.parse(inspect.getsource(mod))
    defined = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    assert not defined, f"clipmg_lib.api.{name} defines {[d.name for d in defined]}"
    public = {a for a in vars(mod) if not a.startswith("_")} - {"annotations"}
    assert public - set(mod.__all__) == set(), f"{name}: imported but not in __all__"


def _library_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("clipmg_lib"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("clipmg_lib")}
    return found


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_notebooks_import_the_library_only_through_the_facades(path):
    nb = nbformat.read(path, as_version=4)
    modules = set().union(*(_library_imports(c.source) for c in nb.cells if c.cell_type == "code"))
    assert modules, "the notebook imports nothing from clipmg_lib"
    outside = sorted(m for m in modules if not m.startswith("clipmg_lib.api."))
    assert not outside, f"{path.name} imports {outside}; import them through clipmg_lib.api"
