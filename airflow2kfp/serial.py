"""Values kept on disk between runs (the cache, the report memo) as JSON that decodes only into the
type asked for. Nothing read from disk is ever unpickled: a folder someone else can write (a pull
request, a restored CI cache) must not be able to run code.

`dumps(value, T)` writes a value of type T with orjson; `loads(data, T)` reads it back by walking T
(dataclass fields and their annotations, tuples, mappings, enums, unions) and raises `Invalid` for
anything of another shape: callers treat that as a miss. Positions typed `Any` (raw model values
such as a task's `retries`) hold JSON scalars, lists and the model's own value types only, each
non-JSON kind tagged by a one-key object: {"$tuple": [...]}, {"$map": [[k, v], ...]},
{"$Duration": {...}}; a plain JSON object never stands there, so the tags cannot be confused with
data.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar, overload

import orjson

from airflow2kfp.model import Duration, SourceSpan, Unresolved, XComRef

T = TypeVar("T")

# the model's value types that may stand where a field is typed Any
_MODEL_VALUES: dict[str, type] = {cls.__name__: cls for cls in (Duration, Unresolved, XComRef, SourceSpan)}
_INT64 = (-(2**63), 2**64 - 1)  # what orjson writes as a JSON number


class Invalid(ValueError):
    """The data is not a value of the type asked for (or the value cannot be written as data)."""


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (to data, from data)
_codecs: dict[Any, Codec] = {}


def dumps(value: Any, kind: Any) -> bytes:
    return orjson.dumps(to_data(value, kind))


@overload
def loads(data: bytes | str, kind: type[T]) -> T: ...
@overload
def loads(data: bytes | str, kind: Any) -> Any: ...  # a generic alias (tuple[A, B], list[A])


def loads(data: bytes | str, kind: Any) -> Any:
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Invalid(f"not JSON: {error}") from None
    return from_data(raw, kind)


def to_data(value: Any, kind: Any) -> Any:
    """`value` as JSON-ready data (what `dumps` writes), for embedding in a larger document."""
    try:
        return _codec(kind)[0](value)
    except (TypeError, AttributeError, RecursionError) as error:
        raise Invalid(f"{type(error).__name__}: {error}") from None


def from_data(raw: Any, kind: type[T]) -> T:
    try:
        return typing.cast(T, _codec(kind)[1](raw))
    except (TypeError, ValueError, KeyError, RecursionError) as error:  # a constructor's own check
        raise Invalid(f"{type(error).__name__}: {error}") from None


def _codec(kind: Any) -> Codec:
    found = _codecs.get(kind)
    if found is None:
        found = _codecs[kind] = _build(kind)
    return found


def _fail(expected: str, raw: Any) -> typing.NoReturn:
    raise Invalid(f"expected {expected}, got {type(raw).__name__}")


def _build(kind: Any) -> Codec:
    if kind is Any:
        return _any_to, _any_from
    if kind is None or kind is type(None):
        return _identity, lambda raw: raw if raw is None else _fail("null", raw)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if kind is bool:
        return _identity, lambda raw: raw if isinstance(raw, bool) else _fail("a boolean", raw)
    if kind is int:
        return (
            _int_to,
            lambda raw: (
                raw if isinstance(raw, int) and not isinstance(raw, bool) else _fail("an integer", raw)
            ),
        )
    if kind is float:
        return _float_to, _float_from
    if kind is str:
        return _identity, lambda raw: raw if isinstance(raw, str) else _fail("a string", raw)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return _enum(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    if origin is tuple:
        return _tuple(args)
    if origin in (list, frozenset):
        item_to, item_from = _codec(args[0])
        container = list if origin is list else frozenset

        def items_from(raw: Any) -> Any:
            if not isinstance(raw, list):
                _fail("an array", raw)
            return container(item_from(item) for item in raw)

        return (lambda value: [item_to(item) for item in value]), items_from
    if origin in (dict, Mapping) or kind in (dict, Mapping):
        return _mapping(*(args or (Any, Any)))
    raise TypeError(f"serial: no codec for {kind!r}")


def _identity(value: Any) -> Any:
    return value


def _int_to(value: int) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise Invalid(f"integer out of range: {value.bit_length()} bits")
    return value


def _float_to(value: float) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"not a finite number: {value}")
    return _int_to(value) if isinstance(value, int) else value


def _float_from(raw: Any) -> Any:
    # an int stays an int: a float field may hold one (Duration(300)), and it must read back the same
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return raw
    _fail("a number", raw)


def _union(members: tuple[Any, ...]) -> Codec:
    codecs = [(member, _codec(member)) for member in members]

    def to_data(value: Any) -> Any:
        for member, (encode, _) in codecs:
            if _is_instance(value, member):
                return encode(value)
        raise Invalid(f"{type(value).__name__} is none of {members}")

    def from_data(raw: Any) -> Any:
        for _, (_, decode) in codecs:
            try:
                return decode(raw)
            except Invalid:
                continue
        _fail(" | ".join(map(str, members)), raw)

    return to_data, from_data


def _is_instance(value: Any, kind: Any) -> bool:
    if kind is None or kind is type(None):
        return value is None
    if kind is Any:
        return True
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(kind) or kind)


def _enum(kind: type[Enum]) -> Codec:
    def from_data(raw: Any) -> Any:
        try:
            return kind(raw)
        except (ValueError, TypeError):
            _fail(kind.__name__, raw)

    return (lambda value: value.value), from_data


def _dataclass(kind: type) -> Codec:
    hints = typing.get_type_hints(kind)
    fields = [f.name for f in dataclasses.fields(kind) if f.init]
    codecs = [(name, *_codec(hints[name])) for name in fields]
    names = frozenset(fields)

    def to_data(value: Any) -> Any:
        if type(value) is not kind:
            raise Invalid(f"expected {kind.__name__}, got {type(value).__name__}")
        return {name: encode(getattr(value, name)) for name, encode, _ in codecs}

    def from_data(raw: Any) -> Any:
        if not isinstance(raw, dict) or raw.keys() != names:
            _fail(f"{kind.__name__} with fields {sorted(names)}", raw)
        return kind(**{name: decode(raw[name]) for name, _, decode in codecs})

    return to_data, from_data


def _tuple(args: tuple[Any, ...]) -> Codec:
    if len(args) == 2 and args[1] is Ellipsis:
        item_to, item_from = _codec(args[0])

        def items_from(raw: Any) -> Any:
            if not isinstance(raw, list):
                _fail("an array", raw)
            return tuple(item_from(item) for item in raw)

        return (lambda value: [item_to(item) for item in value]), items_from
    codecs = [_codec(arg) for arg in args]

    def fixed_from(raw: Any) -> Any:
        if not isinstance(raw, list) or len(raw) != len(codecs):
            _fail(f"an array of {len(codecs)}", raw)
        return tuple(decode(item) for (_, decode), item in zip(codecs, raw))

    return (lambda value: [encode(item) for (encode, _), item in zip(codecs, value)]), fixed_from


def _mapping(key: Any, item: Any) -> Codec:
    key_to, key_from = _codec(key)
    item_to, item_from = _codec(item)
    if key is str:  # a JSON object

        def object_from(raw: Any) -> Any:
            if not isinstance(raw, dict):
                _fail("an object", raw)
            return {name: item_from(value) for name, value in raw.items()}

        def object_to(value: Any) -> Any:
            if not all(isinstance(k, str) for k in value):
                raise Invalid("a mapping typed with str keys holds another key")
            return {k: item_to(v) for k, v in value.items()}

        return object_to, object_from

    def pairs_from(raw: Any) -> Any:  # other keys: [[key, value], ...]
        if not isinstance(raw, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in raw):
            _fail("an array of pairs", raw)
        return {key_from(k): item_from(v) for k, v in raw}

    return (lambda value: [[key_to(k), item_to(v)] for k, v in value.items()]), pairs_from


def _any_to(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return _int_to(value)
    if isinstance(value, float):
        return _float_to(value)
    if isinstance(value, list):
        return [_any_to(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [_any_to(item) for item in value]}
    if isinstance(value, Mapping):
        return {"$map": [[_any_to(k), _any_to(v)] for k, v in value.items()]}
    name = type(value).__name__
    if _MODEL_VALUES.get(name) is type(value):
        return {f"${name}": _codec(type(value))[0](value)}
    raise Invalid(f"{name} is not a value the cache keeps")


def _any_from(raw: Any) -> Any:
    if raw is None or isinstance(raw, (bool, int, float, str)):
        return raw
    if isinstance(raw, list):
        return [_any_from(item) for item in raw]
    if isinstance(raw, dict) and len(raw) == 1:
        ((tag, inner),) = raw.items()
        if tag == "$tuple" and isinstance(inner, list):
            return tuple(_any_from(item) for item in inner)
        if tag == "$map" and isinstance(inner, list):
            return dict(_mapping(Any, Any)[1](inner))
        model = _MODEL_VALUES.get(tag[1:]) if tag.startswith("$") else None
        if model is not None:
            return _codec(model)[1](inner)
    _fail("a tagged value", raw)
