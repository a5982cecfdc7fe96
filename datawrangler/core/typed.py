"""One small typed loader for the JSON files people edit (settings, presets, card rules): read the file, then
check each value against its dataclass field's type. Every file says the same about a wrong value: which
file, which field, what it must be, and what to do. Pure: the caller names its error class and its advice."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any


def read_json(path: str | os.PathLike[str], what: str, error: type[ValueError], fix: str,
              text: str | None = None) -> Any:
    """The JSON document in the file (or `text`, read from it by the caller); `error` names the file when it
    cannot be read or parsed: "The presets file /x/presets.json cannot be read (...). Fix it or move it away." """
    where = os.fspath(path)
    try:
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise error(f"The {what} {where} cannot be read ({exc}). {fix}".rstrip()) from exc


def json_list(doc: Any, key: str, what: str, where: str | os.PathLike[str], error: type[ValueError],
              fix: str = "") -> list[Any]:
    """doc[key] when doc is a JSON object holding a list there, else `error` saying what the file must hold."""
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise error(f"The {what} {os.fspath(where)} must hold a JSON object with a '{key}' list. {fix}".rstrip())
    return items


def _kind(hint: Any) -> tuple[str, bool]:
    """('tuple' | 'bool' | 'int' | 'float' | 'str' | 'dict' | 'other', None allowed)."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0] if len(args) == 1 else Any
    base = typing.get_origin(hint) or hint
    for name, t in (("tuple", tuple), ("bool", bool), ("int", int), ("float", float), ("str", str), ("dict", dict)):
        if base is t:
            return name, optional
    return "other", optional


_MUST = {"tuple": "a list of strings", "bool": "true or false", "int": "a whole number", "float": "a number",
         "str": "text", "dict": "a JSON object"}


def _fits(kind: str, value: Any) -> bool:
    if kind == "tuple":
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def field_values(cls: type, data: Mapping[str, Any], where: str, error: type[ValueError], *, fix: str = "",
                 unknown: str = "refuse") -> dict[str, Any]:
    """The keyword arguments of dataclass `cls` from `data`, each value checked against its field's type
    (a list of strings becomes a tuple). An unknown key is refused, or with unknown='ignore' skipped (a newer
    version's setting). A wrong value raises `error`: "<where>: 'retries' must be a whole number, not '2'. <fix>" """
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    extra = sorted(set(data) - set(known))
    if extra and unknown != "ignore":
        raise error(f"{where}: unknown field(s) {', '.join(extra)}. Known: {', '.join(known)}. {fix}".rstrip())
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        kind, optional = _kind(hints[key])
        if not (value is None and optional) and not _fits(kind, value):
            raise error(f"{where}: '{key}' must be {_MUST[kind]}, not {value!r}. {fix}".rstrip())
        out[key] = tuple(value) if kind == "tuple" and value is not None else value
    return out
