"""The one config mechanism: strict JSON -> (nested) dataclass loading and dotted overrides.

Every config of the kit (model, training, spotter, the ablation patch file) is a dataclass; its JSON file
is read by :func:`load_config` / :func:`from_dict`, which check every field against its annotation:

==================================  ==========================================================================
annotation                          accepted JSON value
==================================  ==========================================================================
``int``                             an integer (an integral float such as ``5.0`` is taken as 5; ``2.7`` is not)
``float``                           a finite number (ints too; stored as float)
``bool``                            ``true`` / ``false`` (not 0 / 1)
``str``                             a string
``Literal[...]`` / an ``Enum``      one of the listed values
``list[X]`` / ``tuple[X, ...]``     a list whose items are each ``X`` (stored as list / tuple)
``dict[str, X]``                    an object whose values are each ``X``
``Optional[X]`` / ``X | None``      ``null`` or ``X``
a nested dataclass                  an object, loaded by the same rules (its fields are *sections*)
``Any``                             anything
==================================  ==========================================================================

An unknown key is an error naming the file, the dotted field and the fields that level knows.

**Comment convention.** A config file explains itself in one place: the top-level field ``description``
(a string every config dataclass declares, so it is kept and saved with a run). There are no other comment
keys (``_comment``, ``about``): they are unknown keys like any other.

**Overrides.** One syntax everywhere (``--set`` of the train CLI, ``-p`` of the chain, the notebooks'
``config_overrides``, ``model_overrides`` of a training config): ``section.field=value``, a dotted path
into the config and a value parsed as JSON (``3``, ``0.5``, ``true``, ``null``, ``[1, 2]``, ``{"a": 1}``;
Python's ``None`` / ``True`` / ``False`` are read as ``null`` / ``true`` / ``false``), else taken as the
string itself. :func:`parse_override` reads one ``KEY=VALUE``; :func:`apply_overrides` applies a mapping
``{dotted key: value}`` to a config dict; the result is type-checked like a file, so a bad value fails with
e.g. ``TrainConfig.epochs must be an integer, got 'x' (str)``. A section given a whole object is merged
into the section (``pose={"dropout": 0.5}`` keeps the other ``pose`` fields); a ``dict`` field takes the
rest of the dotted path as one key (``model_overrides.inputs.heatmap.size=32`` sets ``model_overrides["inputs.heatmap.size"]``).
"""
from __future__ import annotations

import copy
import dataclasses
import enum
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from .paths import config_dir

__all__ = ["COMMENT_KEY", "ConfigError", "apply_overrides", "check_fields", "deep_merge", "from_dict",
           "load_config", "named_configs", "override_argument", "parse_override", "parse_overrides", "read_json",
           "replace_config", "resolve_config_file", "to_dict"]

#: The one key a config file uses to explain itself (a top-level string field of every config dataclass).
COMMENT_KEY = "description"

T = TypeVar("T")

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PY_LITERALS = {"None": None, "True": True, "False": False}


class ConfigError(ValueError):
    """A config file, dict or override that does not fit its schema; the message names the file and field."""


# ---------------------------------------------------------------------------------------------- reading
def read_json(path: str | Path) -> dict:
    """The JSON object in ``path``; a missing file, invalid JSON or a non-object raise :class:`ConfigError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a JSON object, got {type(data).__name__}")
    return data


def named_configs(kind: str) -> list[str]:
    """Names of the packaged configs of one kind (``configs/<kind>/<name>.json``)."""
    return sorted(p.stem for p in config_dir(kind).glob("*.json"))


def resolve_config_file(kind: str, name_or_path: str | Path) -> Path:
    """The file of a packaged config name (``configs/<kind>/<name>.json``) or of a ``.json`` path."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if text.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return path
    candidate = config_dir(kind) / f"{text}.json"
    if not candidate.is_file():
        raise ConfigError(f"unknown {kind} config {text!r}; available: {named_configs(kind)} "
                          "(or a path to a .json file)")
    return candidate


def load_config(cls: type[T], kind: str, name_or_path: str | Path,
                overrides: Mapping[str, Any] | None = None) -> T:
    """A config of dataclass ``cls`` from a packaged name of ``kind`` or a JSON path, with dotted overrides."""
    path = resolve_config_file(kind, name_or_path)
    data = read_json(path)
    source = str(path)
    if overrides:
        data = apply_overrides(cls, data, overrides, source)
        source += " with overrides"
    return from_dict(cls, data, source)


# ---------------------------------------------------------------------------------------------- checking
def from_dict(cls: type[T], data: Any, source: str = "", root: str | None = None) -> T:
    """Build dataclass ``cls`` from a (nested) dict, checking every field; errors name ``source``.

    ``root`` is the name the messages give the top level (default the class name, e.g. ``TrainConfig``).
    Errors raised by ``cls``'s own ``__post_init__`` checks are re-raised with ``source`` in front.
    """
    root = root or cls.__name__
    try:
        return _build(cls, data, root)
    except ConfigError as exc:
        message = str(exc)
        if source and not message.startswith(source):
            message = f"{source}: {message}"
        raise ConfigError(message) from None


def check_fields(instance: Any, root: str | None = None) -> None:
    """Check (and normalise in place, e.g. ``5.0`` -> 5, list -> tuple) the fields of a built dataclass.

    For ``__post_init__`` of configs that are also built directly (``TrainConfig(epochs=2)``).
    """
    root = root or type(instance).__name__
    hints = typing.get_type_hints(type(instance))
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint) and dataclasses.is_dataclass(value):
            continue  # built by from_dict or its own constructor
        object.__setattr__(instance, f.name, _check(value, hint, f"{root}.{f.name}"))


def _fields(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unknown(cls, keys, where: str) -> ConfigError:
    hint = " (nested fields are written section.field, e.g. backbone.token_grid)" if any("__" in k for k in keys) else ""
    return ConfigError(f"unknown field(s) {[f'{where}.{k}' for k in sorted(keys)]}{hint}; "
                       f"known fields of {where}: {sorted(_fields(cls))}")


def _build(cls, data: Any, where: str):
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a JSON object, got {data!r} ({type(data).__name__})")
    fields = _fields(cls)
    unknown = set(data) - set(fields)
    if unknown:
        raise _unknown(cls, unknown, where)
    kwargs = {key: _check(value, fields[key], f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a field without default missing
        raise ConfigError(f"{where}: {exc}") from None


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(_describe(a) for a in inner)
        return text + (" or null" if len(inner) < len(args) else "")
    if origin is Literal:
        return f"one of {args}"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return f"one of {tuple(m.value for m in hint)}"
    if origin in (list, tuple):
        item = args[0] if args else Any
        plural = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(item)
        return f"a list of {plural}" if plural else "a list"
    if origin is dict or hint is dict:
        return "a JSON object"
    if dataclasses.is_dataclass(hint):
        return "a JSON object"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _check(value: Any, hint: Any, where: str) -> Any:
    """``value`` as a field of type ``hint`` (normalised), or :class:`ConfigError` naming ``where``."""
    if hint is Any:
        return copy.deepcopy(value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _check(value, arg, where)
            except ConfigError:
                continue
        raise _mismatch(value, hint, where)
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value) and isinstance(value, hint):
            return copy.deepcopy(value)
        return _build(hint, value, where)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _mismatch(value, hint, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise _mismatch(value, hint, where) from None
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _mismatch(value, hint, where)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where} must be a list of {len(args)} items, got {value!r}")
            items = [_check(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            item = args[0] if args else Any
            items = [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _mismatch(value, hint, where)
        item = args[1] if args else Any
        return {k: _check(v, item, f"{where}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return copy.deepcopy(value)
    else:
        raise TypeError(f"{where}: the config loader does not handle the annotation {hint!r}")
    raise _mismatch(value, hint, where)


def _mismatch(value: Any, hint: Any, where: str) -> ConfigError:
    return ConfigError(f"{where} must be {_describe(hint)}, got {value!r} ({type(value).__name__})")


# ---------------------------------------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[str, Any]:
    """``"section.field=value"`` -> ``("section.field", value)``; value as JSON, else the string itself."""
    key, sep, raw = str(text).partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise ConfigError(f"expected section.field=value (a dotted name, '=', a JSON value), got {text!r}")
    raw = raw.strip()
    if raw in _PY_LITERALS:
        return key, _PY_LITERALS[raw]
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def override_argument(text: str) -> tuple[str, Any]:
    """:func:`parse_override` as an ``argparse`` ``type=`` (a bad item is a usage error naming it)."""
    import argparse

    try:
        return parse_override(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_overrides(texts: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Several ``KEY=VALUE`` strings -> ``{dotted key: value}`` (a later repeat of a key wins)."""
    return dict(parse_override(t) for t in texts)


def deep_merge(base: Mapping, patch: Mapping) -> dict:
    """Recursively merge ``patch`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(cls: type, data: Mapping, overrides: Mapping[str, Any], source: str = "",
                    root: str | None = None) -> dict:
    """``data`` (a config dict of dataclass ``cls``) with dotted ``overrides`` applied (not yet type-checked).

    A path must follow the fields of ``cls``: each segment a field, sections (nested dataclasses) descended,
    a ``dict`` field taking the rest of the path as one key. Unknown segments raise :class:`ConfigError`
    naming the override and the known fields.
    """
    root = root or cls.__name__
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        if not _KEY.match(key):
            raise ConfigError(f"{source + ': ' if source else ''}override {key!r} is not a dotted field name")
        parts = key.split(".")
        node, node_cls, where = out, cls, root
        for i, part in enumerate(parts):
            fields = _fields(node_cls)
            if part not in fields:
                err = _unknown(node_cls, [part], where)
                raise ConfigError(f"{source + ': ' if source else ''}override {key!r}: {err}")
            hint = _section_type(fields[part])
            rest = parts[i + 1:]
            if not rest:
                if hint is not None and isinstance(value, Mapping) and isinstance(node.get(part), Mapping):
                    node[part] = deep_merge(node[part], value)
                else:
                    node[part] = copy.deepcopy(value)
                break
            if hint is not None:  # descend into the section
                if not isinstance(node.get(part), Mapping):
                    node[part] = {}
                node, node_cls, where = node[part], hint, f"{where}.{part}"
                continue
            ann = fields[part]
            if typing.get_origin(ann) is dict or ann is dict:  # the rest of the path is one key
                current = node.get(part)
                node[part] = {**(current if isinstance(current, Mapping) else {}), ".".join(rest): copy.deepcopy(value)}
                break
            raise ConfigError(f"{source + ': ' if source else ''}override {key!r}: {where}.{part} is "
                              f"{_describe(ann)}, not a section with fields")
    return out


def _section_type(hint: Any):
    """The dataclass of a section field (``X`` or ``Optional[X]``), else None."""
    if dataclasses.is_dataclass(hint):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


def to_dict(instance: Any) -> dict:
    """A config as plain JSON-ready data (tuples as lists, enums as their values)."""
    def plain(v):
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(dataclasses.asdict(instance))


def replace_config(instance: T, overrides: Mapping[str, Any], source: str = "") -> T:
    """A copy of ``instance`` with dotted ``overrides`` applied and every field checked again."""
    cls = type(instance)
    data = apply_overrides(cls, dataclasses.asdict(instance), overrides, source)
    return from_dict(cls, data, source)
