"""Pydantic validation errors as one line naming the key path, as the CLI prints them."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from monitor.errors import KeyPathError


def one_line(exc: ValidationError, root: type[BaseModel]) -> str:
    """`config error at <path>: <what>`, for the first error (and how many more there are)."""
    loc, msg = _describe(exc.errors()[0], root)
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"config error at {_loc(loc)}: {msg}{more}"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _describe(err: Any, root: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    """(key path, message) of one pydantic error: an unknown key is named at its parent
    with the keys expected there; a KeyPathError extends the path."""
    loc, msg = tuple(err["loc"]), err["msg"].removeprefix("Value error, ")
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, KeyPathError):
        return (*loc, *inner.path), str(inner)
    if err["type"] == "extra_forbidden" and loc:
        keys = _keys_at(root, loc[:-1])
        expected = f" (expected {', '.join(keys)})" if keys else ""
        return loc[:-1], f"unknown key {loc[-1]!r}{expected}"
    return loc, msg


def _keys_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts (empty when the path is not a plain model)."""
    ann: Any = root
    for part in loc:
        args = [a for a in get_args(ann) if a is not type(None)]
        if get_origin(ann) is list or get_origin(ann) is dict:
            ann = args[-1]
        elif isinstance(ann, type) and issubclass(ann, BaseModel) and part in ann.model_fields:
            ann = ann.model_fields[part].annotation
        else:
            return []
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1 and get_origin(ann) not in (list, dict):  # X | None
            ann = args[0]
    return list(ann.model_fields) if isinstance(ann, type) and issubclass(ann, BaseModel) else []
