"""Images built byte by byte for tests: PNGs that Pillow could not write without holding
every pixel in memory (20000 x 20000, 6300 x 6300 at 16 bits)."""

from __future__ import annotations

import struct
import zlib

_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, *, rows: bool) -> bytes:
    """A PNG whose rows are all zero, or (``rows=False``) whose image data is broken."""
    if rows:
        row = b"\x00" * (1 + (width * _CHANNELS[colour_type] * bit_depth + 7) // 8)
        packer = zlib.compressobj(6)
        block = 100  # rows per call: zlib does the work, not the Python loop
        parts = [packer.compress(row * block) for _ in range(height // block)]
        parts.append(packer.compress(row * (height % block)))
        idat = b"".join(parts) + packer.flush()
    else:
        idat = b"not zlib at all"
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )
