"""QR code for the card: segment-aware encoding, fast mask choice, vector drawing.

The verify URL (``HTTPS://VERIFY.CITY.EXAMPLE/V#<BASE32>``) is upper case so that the prefix
and the token fit QR alphanumeric mode (5.5 bits a character instead of 8); only ``#`` is
outside that alphabet and goes in a one-byte segment. Letting the library guess the modes
from the whole string would put everything in byte mode and need a bigger code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, cast

from qrcode import QRCode
from qrcode.base import rs_blocks
from qrcode.constants import (
    ERROR_CORRECT_H,
    ERROR_CORRECT_M,
    ERROR_CORRECT_Q,
)
from qrcode.util import (
    ALPHA_NUM,
    BIT_LIMIT_TABLE,
    MODE_8BIT_BYTE,
    MODE_ALPHA_NUM,
    MODE_NUMBER,
    QRData,
    mask_func,
    mode_sizes_for_version,
)

from .errors import RenderError

ErrorCorrection = Literal["L", "M", "Q", "H"]

#: The design rule: the credential must fit version 10 at M or better.
MAX_PREFERRED_VERSION = 10
QUIET_ZONE = 4  # modules; ISO/IEC 18004 minimum, scanners rely on it

_EC_LEVELS: tuple[tuple[ErrorCorrection, int], ...] = (
    ("H", ERROR_CORRECT_H),
    ("Q", ERROR_CORRECT_Q),
    ("M", ERROR_CORRECT_M),
)  # never L: a card is carried for years and gets scratched; M is the design floor
_EC_BY_NAME = dict(_EC_LEVELS)
_ALNUM = re.compile(r"[0-9A-Z $%*+\-./:]+")


@dataclass(frozen=True)
class QrCode:
    """A QR symbol without its quiet zone; ``modules[row][col]`` is True for dark."""

    version: int
    error_correction: ErrorCorrection
    modules: list[list[bool]]

    @property
    def size(self) -> int:
        return len(self.modules)


def _qr_data(data: bytes, mode: int) -> QRData:
    # The stubs type ``mode`` as a Literal; the mode constants are plain ints at runtime.
    return QRData(data, cast(Any, mode))


def _segments(text: str) -> list[QRData]:
    """Split text into alphanumeric runs and byte runs for everything else."""
    segments: list[QRData] = []
    pos = 0
    for match in _ALNUM.finditer(text):
        if match.start() > pos:
            segments.append(_qr_data(text[pos : match.start()].encode("utf-8"), MODE_8BIT_BYTE))
        run = match.group()
        # A lone short alphanumeric run between byte runs costs more as its own segment
        # (mode + length header) than as bytes; the URL's runs are long, so this is rare.
        mode = MODE_NUMBER if run.isdigit() else MODE_ALPHA_NUM
        segments.append(_qr_data(run.encode("ascii"), mode))
        pos = match.end()
    if pos < len(text):
        segments.append(_qr_data(text[pos:].encode("utf-8"), MODE_8BIT_BYTE))
    return segments


def _payload_bits(segment: QRData) -> str:
    """The segment's payload bits (ISO/IEC 18004 7.4), without mode and count header."""
    payload: bytes = segment.data
    if segment.mode == MODE_ALPHA_NUM:
        values = [_ALNUM_VALUE[ch] for ch in payload]
        pairs = [
            format(values[i] * 45 + values[i + 1], "011b") for i in range(0, len(values) - 1, 2)
        ]
        if len(values) % 2:
            pairs.append(format(values[-1], "06b"))
        return "".join(pairs)
    if segment.mode == MODE_NUMBER:
        groups = [payload[i : i + 3] for i in range(0, len(payload), 3)]
        return "".join(format(int(g), f"0{(10, 4, 7)[len(g) % 3]}b") for g in groups)
    return "".join(format(byte, "08b") for byte in payload)


_ALNUM_VALUE = {ch: i for i, ch in enumerate(ALPHA_NUM)}


def _data_bits(segments: list[tuple[QRData, str]], version: int) -> str:
    sizes = mode_sizes_for_version(version)
    return "".join(
        format(seg.mode, "04b") + format(len(seg.data), f"0{sizes[seg.mode]}b") + payload
        for seg, payload in segments
    )


def _choose_level(segments: list[tuple[QRData, str]]) -> tuple[ErrorCorrection, int]:
    def smallest_version(level: int) -> int | None:
        for version in range(1, 41):
            sizes = mode_sizes_for_version(version)
            needed = sum(4 + sizes[seg.mode] + len(payload) for seg, payload in segments)
            if needed <= BIT_LIMIT_TABLE[level][version]:
                return version
        return None

    for name, level in _EC_LEVELS:
        version = smallest_version(level)
        if version is not None and version <= MAX_PREFERRED_VERSION:
            return name, version
    version = smallest_version(ERROR_CORRECT_M)
    if version is None:
        raise RenderError("qr_too_long", "the QR text does not fit any QR version")
    return "M", version


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, as log/antilog tables.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _i in range(255):
    _EXP[_i] = _value
    _LOG[_value] = _i
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=32)
def _generator(degree: int) -> tuple[int, ...]:
    """Reed-Solomon generator polynomial coefficients (highest first, leading 1 dropped)."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            if coef:
                nxt[j + 1] ^= _EXP[_LOG[coef] + i]
        poly = nxt
    return tuple(poly[1:])


@lru_cache(maxsize=32)
def _rs_table(degree: int) -> tuple[int, ...]:
    """For each factor 0-255, ``factor * generator`` as one ``degree``-byte integer."""
    gen_log = [_LOG[g] for g in _generator(degree)]  # generator coefficients are nonzero
    table = [0]
    for factor in range(1, 256):
        lf = _LOG[factor]
        table.append(int.from_bytes(bytes(_EXP[lf + gl] for gl in gen_log), "big"))
    return tuple(table)


def _ec_codewords(data: list[int], degree: int) -> list[int]:
    # Polynomial division with the remainder held as one big integer: each data byte is
    # a shift, a mask and one XOR with a precomputed product, instead of a Python loop
    # over ``degree`` coefficients (that loop was ~0.5 ms of a version-10 symbol).
    table = _rs_table(degree)
    top = 8 * (degree - 1)
    keep = (1 << top) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder & keep) << 8) ^ table[byte ^ (remainder >> top)]
    return list(remainder.to_bytes(degree, "big"))


def _codewords(segments: list[tuple[QRData, str]], version: int, level: int) -> list[int]:
    """Data plus error-correction codewords, interleaved as placed in the symbol."""
    blocks = rs_blocks(version, level)
    capacity = sum(block.data_count for block in blocks) * 8
    bits = _data_bits(segments, version)
    bits += "0" * min(4, capacity - len(bits))  # terminator
    bits += "0" * (-len(bits) % 8)
    data = list(int(bits, 2).to_bytes(len(bits) // 8, "big")) if bits else []
    data += [0xEC, 0x11] * ((capacity // 8 - len(data)) // 2 + 1)
    data = data[: capacity // 8]
    data_blocks: list[list[int]] = []
    ec_blocks: list[list[int]] = []
    offset = 0
    for block in blocks:
        chunk = data[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_ec_codewords(chunk, block.total_count - block.data_count))
    out: list[int] = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


@lru_cache(maxsize=64)
def _function_layout(version: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Per version: dark function-pattern rows, data-region rows (one int per row, bit
    ``n-1-col`` = column ``col``) and the bit of each data module in placement order."""
    n = version * 4 + 17
    probe: Any = QRCode(version=version, border=0)
    probe.modules_count = n
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_position_probe_pattern(0, 0)
    probe.setup_position_probe_pattern(n - 7, 0)
    probe.setup_position_probe_pattern(0, n - 7)
    probe.setup_position_adjust_pattern()
    probe.setup_timing_pattern()
    probe.setup_type_info(True, 0)  # reserves the format cells; their bits come per mask
    if version >= 7:
        probe.setup_type_number(False)
    grid = probe.modules
    dark = tuple(sum(1 << (n - 1 - c) for c in range(n) if grid[r][c]) for r in range(n))
    free = tuple(sum(1 << (n - 1 - c) for c in range(n) if grid[r][c] is None) for r in range(n))
    # Same zigzag walk as qrcode's map_data (two columns at a time, up then down,
    # skipping the vertical timing column).
    order: list[int] = []
    row, step = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while 0 <= row < n:
            for c in (col, col - 1):
                if grid[row][c] is None:
                    order.append(row * n + c)
            row += step
        row -= step
        step = -step
    return dark, free, tuple(order)


@lru_cache(maxsize=512)
def _mask_rows(version: int, pattern: int) -> tuple[int, ...]:
    n = version * 4 + 17
    _, free, _ = _function_layout(version)
    flip = mask_func(pattern)
    return tuple(sum(1 << (n - 1 - c) for c in range(n) if flip(r, c)) & free[r] for r in range(n))


@lru_cache(maxsize=256)
def _format_rows(version: int, ec: int, pattern: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(positions, values) of the 15 format-information bits for this level and mask."""
    n = version * 4 + 17
    probe: Any = QRCode(version=version, error_correction=ec, border=0)
    probe.modules_count = n
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_type_info(False, pattern)
    positions = tuple(
        sum(1 << (n - 1 - c) for c in range(n) if probe.modules[r][c] is not None) for r in range(n)
    )
    values = tuple(sum(1 << (n - 1 - c) for c in range(n) if probe.modules[r][c]) for r in range(n))
    return positions, values


def _pack(rows: tuple[int, ...] | list[int], n: int) -> tuple[int, int]:
    """A grid of row ints as (by rows, by columns): each line in an (n+1)-bit slot, the
    first line in the most significant slot and its top bit a zero separator."""
    text = [format(row, f"0{n}b") for row in rows]
    by_rows = int("0" + "0".join(text), 2)
    by_cols = int("0" + "0".join("".join(col) for col in zip(*text, strict=True)), 2)
    return by_rows, by_cols


@lru_cache(maxsize=64)
def _placement(version: int) -> tuple[Any, Any, int]:
    """Per version: getters that pick, from the data bit string plus one trailing "0",
    the packed-by-rows and packed-by-columns grid strings (separators, function
    patterns and remainder cells read the trailing "0"), and the data bit count."""
    n = version * 4 + 17
    _, _, order = _function_layout(version)
    bit_count = 8 * sum(block.total_count for block in rs_blocks(version, ERROR_CORRECT_M))
    zero = bit_count
    cell_bit = [zero] * (n * n)
    for bit, cell in enumerate(order[:bit_count]):
        cell_bit[cell] = bit
    by_rows = [zero]
    for r in range(n):
        by_rows.extend(cell_bit[r * n : (r + 1) * n])
        by_rows.append(zero)
    by_cols = [zero]
    for c in range(n):
        by_cols.extend(cell_bit[c::n])
        by_cols.append(zero)
    # Drop the final separators again: a slot is a leading zero and n cells.
    return itemgetter(*by_rows[:-1]), itemgetter(*by_cols[:-1]), bit_count


@lru_cache(maxsize=64)
def _packed_function(version: int) -> tuple[int, int]:
    n = version * 4 + 17
    dark, _, _ = _function_layout(version)
    return _pack(dark, n)


@lru_cache(maxsize=512)
def _packed_mask(version: int, pattern: int) -> tuple[int, int]:
    return _pack(_mask_rows(version, pattern), version * 4 + 17)


@lru_cache(maxsize=256)
def _packed_format(version: int, ec: int, pattern: int) -> tuple[int, int, int, int]:
    """(positions by rows, by columns, values by rows, by columns) of the format bits."""
    n = version * 4 + 17
    positions, values = _format_rows(version, ec, pattern)
    return (*_pack(positions, n), *_pack(values, n))


@lru_cache(maxsize=64)
def _line_masks(n: int) -> tuple[int, int, int, int]:
    """For n lines of n bits packed in (n+1)-bit slots: where a window of 2, 4 and 11
    bits stays inside one line, and where a 2x2 block stays inside the symbol."""
    width = n + 1

    def windows(length: int, lines: int) -> int:
        one_line = (1 << (n - length + 1)) - 1
        return sum(one_line << (line * width) for line in range(lines))

    return windows(2, n), windows(4, n), windows(11, n), windows(2, n - 1)


_FINDER_LIKE = (0b10111010000, 0b00001011101)


def _line_penalty(packed: int, n: int) -> int:
    """N1 (runs of five or more) and N3 (finder-like patterns) over packed lines."""
    pair, _, eleven, _ = _line_masks(n)
    same = ~(packed ^ (packed >> 1)) & pair
    # A run of L >= 5 equal modules has L-4 positions where four neighbour pairs are equal.
    long_runs = same & (same >> 1) & (same >> 2) & (same >> 3)
    score = long_runs.bit_count() + 2 * (long_runs & ~(long_runs >> 1)).bit_count()
    for pattern in _FINDER_LIKE:
        hits = eleven
        for k in range(11):
            shifted = packed >> k
            hits &= shifted if pattern >> k & 1 else ~shifted
        score += 40 * hits.bit_count()
    return score


def _penalty(by_rows: int, by_cols: int, n: int) -> int:
    """ISO/IEC 18004 mask penalty (rules N1-N4) of a symbol packed by rows and columns.

    qrcode's own evaluation walks every module in Python for each of the 8 masks
    (~13 ms for a version-10 symbol); with each line in a slot of one big int, each
    rule is a handful of big-integer operations.
    """
    width = n + 1
    score = _line_penalty(by_rows, n) + _line_penalty(by_cols, n)
    below = by_rows >> width  # row r+1 aligned under row r
    same_vertical = ~(by_rows ^ below)
    same_horizontal = ~(by_rows ^ (by_rows >> 1))
    blocks = same_vertical & (same_vertical >> 1) & same_horizontal & _line_masks(n)[3]
    score += 3 * blocks.bit_count()  # N2
    dark = by_rows.bit_count()
    score += 10 * (abs(dark * 100 // (n * n) - 50) // 5)  # N4
    return score


def qr_matrix(text: str) -> QrCode:
    """Encode ``text``: the highest error correction (H, Q, then M) that fits version 10,
    else the smallest version at M.

    :raises RenderError: ``qr_empty`` or ``qr_too_long``.
    """
    if not text:
        raise RenderError("qr_empty", "the QR text is empty")
    return _qr_matrix(text)


def encode_with_mask(text: str, pattern: int | None = None) -> QrCode:
    """Encode with a given mask pattern (None: the lowest-penalty one)."""
    segments = [(segment, _payload_bits(segment)) for segment in _segments(text)]
    level_name, version = _choose_level(segments)
    level = _EC_BY_NAME[level_name]
    n = version * 4 + 17
    # qrcode encodes a symbol ~20 ms in pure Python (bit-by-bit buffers, polynomial
    # objects, eight full re-encodings to pick the mask); the card budget is 8 ms for
    # everything, so encode once with table-driven RS and the symbol held as two big
    # ints (packed by rows and by columns), which makes placing the data bits one
    # C-level gather and applying a mask three big-integer operations.
    codewords = _codewords(segments, version, level)
    by_rows_of, by_cols_of, bit_count = _placement(version)
    bits = format(int.from_bytes(bytes(codewords), "big"), f"0{bit_count}b") + "0"
    data_rows = int("".join(by_rows_of(bits)), 2)
    data_cols = int("".join(by_cols_of(bits)), 2)
    dark_rows, dark_cols = _packed_function(version)
    patterns = range(8) if pattern is None else (pattern,)
    best_rows = 0
    best_score = -1
    for candidate in patterns:
        mask_rows, mask_cols = _packed_mask(version, candidate)
        pos_rows, pos_cols, val_rows, val_cols = _packed_format(version, level, candidate)
        rows = ((dark_rows | (data_rows ^ mask_rows)) & ~pos_rows) | val_rows
        if pattern is None:
            cols = ((dark_cols | (data_cols ^ mask_cols)) & ~pos_cols) | val_cols
            score = _penalty(rows, cols, n)
        else:
            score = 0
        if best_score < 0 or score < best_score:
            best_rows, best_score = rows, score
    grid = format(best_rows, f"0{n * (n + 1)}b").encode("ascii")
    dark = (ord("1")).__eq__  # map() with a C-level predicate: no Python call per module
    modules = [list(map(dark, grid[r * (n + 1) + 1 : (r + 1) * (n + 1)])) for r in range(n)]
    return QrCode(version=version, error_correction=level_name, modules=modules)


@lru_cache(maxsize=256)
def _qr_matrix(text: str) -> QrCode:
    # Cached: the issuing service renders the same card as PDF and as PNG preview.
    return encode_with_mask(text)


_DARK_RUN = re.compile(rb"\x01+")


def dark_runs(qr: QrCode) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    # bytes() of a row of bools is one C call, and the regex finds the runs in C too.
    return [
        (r, match.start(), match.end() - match.start())
        for r, row in enumerate(qr.modules)
        for match in _DARK_RUN.finditer(bytes(row))
    ]


def draw_qr(canvas: Any, qr: QrCode, x: float, y: float, size: float) -> None:
    """Draw ``qr`` with its quiet zone as a white square of side ``size`` at (x, y).

    One filled path of row runs: a few hundred rectangles instead of ~1,500 module
    squares, which keeps the content stream small and the drawing fast.
    """
    total = qr.size + 2 * QUIET_ZONE
    module = size / total
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    left = x + QUIET_ZONE * module
    bottom = y + QUIET_ZONE * module
    last = qr.size - 1
    # Raw operators in module units: one transform scales the grid, so each rectangle is
    # four small integers (formatting ~400 runs of floats was ~0.7 ms a card), and the
    # edges land exactly on the module grid instead of on rounded coordinates.
    ops = [f"{module:.6f} 0 0 {module:.6f} {left:.4f} {bottom:.4f} cm"]
    ops.extend(f"{c} {last - r} {length} 1 re" for r, c, length in dark_runs(qr))
    ops.append("f")
    canvas._code.append("\n".join(ops))
    canvas.restoreState()
