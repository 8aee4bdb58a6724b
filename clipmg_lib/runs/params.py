"""The notebooks' papermill parameters: one table of what each accepts, checked before any work.

Every notebook calls ``check_params(globals())`` right after its ``parameters`` cell, and
``python -m clipmg_lib.runs.chain -p NAME=VALUE`` checks its parameters before the first notebook starts, so
``num_frames=eight`` or ``num_frames=8.5`` fails at once with :class:`NotebookParameterError` naming the
parameter and what it accepts (8.5 is not silently read as 8). Names not in :data:`NOTEBOOK_PARAMS` are left
alone (a notebook's own variables).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


class NotebookParameterError(ValueError):
    """A notebook parameter of the wrong type or out of range; the message names it and what it accepts."""


@dataclass(frozen=True)
class Param:
    """What one parameter accepts: ``kind`` ('int', 'str', 'path', 'int_list', 'str_list', 'overrides': a dict
    of dotted config overrides, :mod:`clipmg_lib.core.config`), an optional
    minimum (ints), the allowed values (strings), and whether None is allowed."""

    kind: str
    minimum: int | None = None
    choices: tuple[str, ...] | None = None
    none: bool = False

    def describe(self) -> str:
        if self.kind == "int":
            text = "an integer" + (f" >= {self.minimum}" if self.minimum is not None else "")
        elif self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = {"str": "a string", "path": "a folder path (a string)", "int_list": "a list of integers",
                    "str_list": "a list of strings",
                    "overrides": "a dict of dotted config overrides ({'field.sub': value})"}[self.kind]
        return text + (" or None" if self.none else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none
        if self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return ok and (self.minimum is None or value >= self.minimum)
        if self.kind in ("str", "path"):
            return isinstance(value, (str, Path)) and (not self.choices or value in self.choices)
        if self.kind == "int_list":
            return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if self.kind == "str_list":
            return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        if self.kind == "overrides":
            return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
        raise ValueError(f"unknown parameter kind {self.kind!r}")


_PATH = Param("path", none=True)
_SPLIT = Param("str", choices=("train", "val", "test"))

#: Every parameter of the chain's notebooks and what it accepts.
NOTEBOOK_PARAMS: dict[str, Param] = {
    "dataset_root": _PATH, "results_dir": _PATH, "cache_dir": _PATH, "run_dir": _PATH,
    "num_frames": Param("int", 1), "image_size": Param("int", 1), "max_extract_frames": Param("int", 1),
    "max_clips": Param("int", 1, none=True), "num_clips": Param("int", 1), "batch_size": Param("int", 1),
    "seed": Param("int", 0, none=True), "epochs": Param("int", 1, none=True), "eval_views": Param("int", 1),
    "n_right": Param("int", 0), "n_wrong": Param("int", 0),
    "split": _SPLIT, "skeleton_source": Param("str", choices=("dataset", "mediapipe")),
    "on_bad_data": Param("str", choices=("error", "skip")),
    "device": Param("str"), "config": Param("str"), "model_name": Param("str"), "paper_model": Param("str"),
    "pretrained": Param("str", none=True), "sample_id": Param("str", none=True), "clip_id": Param("str", none=True),
    "variants": Param("str_list", none=True), "seeds": Param("int_list", none=True),
    "train_videos": Param("int_list", none=True), "val_videos": Param("int_list", none=True),
    "test_videos": Param("int_list", none=True), "timeline_seconds": Param("int", 1),
    "emotion_config": Param("str"), "n_boot": Param("int", 1),
    # config overrides (the chain's ``-p train.lr=3e-4`` etc.; clipmg_lib.runs.chain.OVERRIDE_PARAMETERS)
    "train_overrides": Param("overrides"), "model_overrides": Param("overrides"),
    "spotter_overrides": Param("overrides"),
}


def check_params(values: Mapping[str, Any]) -> None:
    """Check every known parameter in ``values`` (a notebook's ``globals()`` or the chain's ``-p`` values).

    Also checks that a given ``dataset_root`` is an existing folder. Raises :class:`NotebookParameterError`
    listing every bad parameter.
    """
    problems = []
    for name, spec in NOTEBOOK_PARAMS.items():
        if name not in values:
            continue
        value = values[name]
        if not spec.accepts(value):
            problems.append(f"parameter {name} must be {spec.describe()}, got {value!r} ({type(value).__name__})")
    root = values.get("dataset_root")
    if isinstance(root, (str, Path)) and not Path(root).expanduser().is_dir():
        problems.append(f"parameter dataset_root: {root} is not a folder")
    if problems:
        raise NotebookParameterError("; ".join(problems))
