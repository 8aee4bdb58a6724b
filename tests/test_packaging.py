"""The install story: one lock file, environment.yml mirroring it, ranges in pyproject admitting it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_mirrors_lock():
    env = (REPO / "environment.yml").read_text()
    mirrored = dict(m.groups() for m in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)==(\S+)$", env, re.M))
    mirrored = {k.lower().replace("_", "-"): v for k, v in mirrored.items()}
    assert mirrored == _lock_pins()


def test_pyproject_ranges_admit_locked_versions():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = _lock_pins()
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is a dependency but not pinned in requirements.lock"
        version = pins[name].split("+")[0]
        assert req.specifier.contains(version, prereleases=True), f"{name}=={version} outside {req.specifier}"
