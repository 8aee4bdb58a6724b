"""Shared fixtures and the test session's sandbox.

- Tests never reach the network: ``HF_HUB_OFFLINE`` is forced here.
- Tests write only under pytest's temporary folders. Before any test module is imported, every folder that
  :mod:`clipmg_lib.core.paths` (and ``bench.common``) would write to by default is pointed at
  ``<pytest basetemp>/session_env/``: ``$CLIPMG_RESULTS_DIR``, ``$CLIPMG_CACHE_DIR`` and
  ``$CLIPMG_BENCH_OUT``. Values set in the caller's shell are overridden, so a test can never write into a
  user's real results or caches. (Notebook kernels that nbval starts later in the same session inherit them.)
- :func:`small_demo`: the small demo dataset, generated once per session and shared read-only. A test that
  requests it is a slow test (generation takes 10-40 s here) and must say so with ``@pytest.mark.slow``;
  collection fails otherwise, so that ``-m "not slow"`` never generates it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
SHARED_IMIGUE = Path(os.environ.get("CLIPMG_SHARED_IMIGUE", REPO.parent / "shared" / "imigue"))

#: Environment variables of the folders a test run may write to, and their sub-folder of the session sandbox.
SANDBOXED_ENV = {"CLIPMG_RESULTS_DIR": "results", "CLIPMG_CACHE_DIR": "cache", "CLIPMG_BENCH_OUT": "bench_out"}

#: Fixtures whose tests must be marked slow: they take more than a few seconds to set up (the small demo's
#: generation; test_data_skeleton_io's 21k OpenPose JSON files of video 298).
SLOW_FIXTURES = frozenset({"small_demo", "openpose_298"})


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has set up the session's base temp folder
def pytest_configure(config: pytest.Config) -> None:
    sandbox = config._tmp_path_factory.mktemp("session_env", numbered=False)  # pytest's own tmp_path_factory
    for var, name in SANDBOXED_ENV.items():
        folder = sandbox / name
        folder.mkdir(exist_ok=True)
        os.environ[var] = str(folder)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items
                if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")]
    if unmarked:
        raise pytest.UsageError(f"these tests use one of {sorted(SLOW_FIXTURES)} but are not marked "
                                f"@pytest.mark.slow: {unmarked}")


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path -> (size, mtime in ns)."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """Root of the small demo dataset (seed 0), generated once per session; read-only for every test.

    A test that needs to write next to the data copies it (``shutil.copytree``) or writes to its own
    ``tmp_path``. At the end of the session the fixture checks that no file under the root was added,
    removed or rewritten, and fails naming the files otherwise.
    """
    from clipmg_lib.demo.generate import generate_demo

    root = tmp_path_factory.mktemp("demo_small")
    generate_demo(root, seed=0, size="small", workers=1, progress=False)
    before = _snapshot(root)
    yield root
    after = _snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"tests wrote into the shared small_demo dataset {root}: {changed[:10]}"


@pytest.fixture(scope="session")
def shared_imigue() -> Path:
    """The real iMiGUE sample files (``../shared/imigue``); skips where absent."""
    if not (SHARED_IMIGUE / "labels_20200831.csv").exists():
        pytest.skip(f"real iMiGUE sample files not found at {SHARED_IMIGUE}")
    return SHARED_IMIGUE
