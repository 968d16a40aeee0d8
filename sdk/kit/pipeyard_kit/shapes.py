"""The shape of a server's JSON answer, checked before a client reads it.

A proxy's login page, a JSON list where an object belongs, a member of the wrong type: a client that
reads such an answer with `data["task"]["status"]` fails with a KeyError or an AttributeError deep
inside, which a user can only report. Each client declares the members it reads, with their types,
and checks an answer once, as it arrives; what does not fit is one RemoteError naming the server and
the call (see sonarqube.client and gitlab).

A shape is written as the JSON it describes:
- a type (str, int, float, bool, dict, list) or a tuple of them: the value's type (a bool is no int);
- {"name": shape, ...}: an object; a member may be absent or null unless its name ends with "!";
- [shape]: a list whose every item has that shape;
- ANY: whatever the server sends (not read, or read as text).
"""

from __future__ import annotations

from typing import Any

ANY = object()
NUMBER = (int, float)
SCALAR = (str, int, float, bool)
_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", dict: "an object",
          list: "a list"}


def describe(value: Any) -> str:
    """What a value is, for a message: never the value itself (it may be long, or a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _fits(value: Any, kinds: type | tuple[type, ...]) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _wanted(kinds: type | tuple[type, ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(_NAMES.get(k, k.__name__) for k in kinds)


def problem(value: Any, shape: Any, at: str = "the answer") -> str | None:
    """Why value does not have the shape, naming where in it; None when it fits."""
    if shape is ANY:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{at} is {describe(value)}, not an object"
        for raw_name, inner in shape.items():
            required = raw_name.endswith("!")
            name = raw_name.rstrip("!")
            member = value.get(name)
            where = f"{at}.{name}" if at != "the answer" else name
            if member is None:
                if required:
                    return f"{where} is missing"
                continue
            found = problem(member, inner, where)
            if found:
                return found
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{at} is {describe(value)}, not a list"
        for i, item in enumerate(value):
            found = problem(item, shape[0], f"{at}[{i}]")
            if found:
                return found
        return None
    if not _fits(value, shape):
        return f"{at} is {describe(value)}, not {_wanted(shape)}"
    return None
