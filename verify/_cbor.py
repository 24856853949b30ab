"""A strict CBOR reader for the small subset the credential and status lists use.

cbor2's decoder is lenient on purpose (duplicate map keys, indefinite lengths and
non-minimal integers all decode), so two different byte strings could read as the same
token. This reader accepts only RFC 8949 §4.2.1 deterministic encoding of unsigned and
negative integers, byte and text strings, arrays and maps with int or text keys; anything
else (tags, floats, simple values, indefinite lengths, unsorted or duplicate keys, trailing
bytes) is an error. Tags are handled by the caller, which checks the one tag it expects.
"""

from __future__ import annotations

from typing import Union

# A recursive alias: mypy resolves it; the string form keeps Python 3.11 happy at runtime.
CborValue = Union[int, bytes, str, list["CborValue"], dict[Union[int, str], "CborValue"]]  # noqa: UP007

MAX_DEPTH = 8


class CborError(ValueError):
    """The bytes are not strict deterministic CBOR of the accepted subset."""


def loads_strict(data: bytes) -> CborValue:
    """Decode exactly one data item that fills all of ``data``.

    :raises CborError: on anything outside the strict subset, truncation or trailing bytes.
    """
    value, end = _item(data, 0, 0)
    if end != len(data):
        raise CborError("trailing bytes after the data item")
    return value


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    if pos >= len(data):
        raise CborError("truncated data item")
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info > 27:
        raise CborError("indefinite length or reserved additional information")
    size = 1 << (info - 24)
    if pos + size > len(data):
        raise CborError("truncated argument")
    argument = int.from_bytes(data[pos : pos + size], "big")
    smallest = 24 if size == 1 else 1 << (4 * size)
    if argument < smallest:
        raise CborError("integer or length not in its shortest form")
    return major, argument, pos + size


def _item(data: bytes, pos: int, depth: int) -> tuple[CborValue, int]:
    if depth > MAX_DEPTH:
        raise CborError("nesting too deep")
    # The common case inline (an argument under 24 needs no extra bytes): this parser
    # runs on every verification, and a call per item was a third of its time.
    if pos < len(data) and (data[pos] & 0x1F) < 24:
        initial = data[pos]
        major, argument, pos = initial >> 5, initial & 0x1F, pos + 1
    else:
        major, argument, pos = _head(data, pos)
    if major == 0:
        return argument, pos
    if major == 1:
        return -1 - argument, pos
    if major in (2, 3):
        end = pos + argument
        if end > len(data):
            raise CborError("truncated string")
        raw = data[pos:end]
        if major == 2:
            return raw, end
        try:
            return raw.decode("utf-8"), end
        except UnicodeDecodeError as exc:
            raise CborError("text string is not valid UTF-8") from exc
    # Each element takes at least one byte: a count above what is left is a lie, and
    # checking it first stops a 4-byte header from asking for a billion-element loop.
    if major in (4, 5) and argument > len(data) - pos:
        raise CborError("truncated array or map")
    if major == 4:
        items: list[CborValue] = []
        for _ in range(argument):
            value, pos = _item(data, pos, depth + 1)
            items.append(value)
        return items, pos
    if major == 5:
        entries: dict[int | str, CborValue] = {}
        previous_key = b""
        for _ in range(argument):
            key_start = pos
            key, pos = _item(data, pos, depth + 1)
            encoded_key = data[key_start:pos]
            if not isinstance(key, int | str):
                raise CborError("map keys must be integers or text")
            if encoded_key == previous_key:
                raise CborError("duplicate map key")
            if encoded_key < previous_key:
                raise CborError("map keys not in deterministic order")
            previous_key = encoded_key
            entries[key], pos = _item(data, pos, depth + 1)
        return entries, pos
    if major == 6:
        raise CborError("unexpected tag")
    raise CborError("floats and simple values are not used")
