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


def _ec_codewords(data: list[int], degree: int) -> list[int]:
    gen = _generator(degree)
    gen_log = [_LOG[g] for g in gen]
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = [*remainder[1:], 0]
        if factor:
            lf = _LOG[factor]
            remainder = [r ^ _EXP[lf + gl] for r, gl in zip(remainder, gen_log, strict=True)]
    return remainder


def _codewords(segments: list[tuple[QRData, str]], version: int, level: int) -> list[int]:
    """Data plus error-correction codewords, interleaved as placed in the symbol."""
    blocks = rs_blocks(version, level)
    capacity = sum(block.data_count for block in blocks) * 8
    bits = _data_bits(segments, version)
    bits += "0" * min(4, capacity - len(bits))  # terminator
    bits += "0" * (-len(bits) % 8)
    data = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
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


def _penalty(rows: list[int], n: int) -> int:
    """ISO/IEC 18004 mask penalty (rules N1-N4), with each line held as an int.

    qrcode's own evaluation walks every module in Python for each of the 8 masks
    (~13 ms for a version-10 symbol); packing the lines into one big int lets each rule
    run as a handful of big-integer operations.
    """
    width = n + 1
    by_rows = 0
    for row in rows:
        by_rows = (by_rows << width) | row
    row_text = [format(row, f"0{n}b") for row in rows]
    by_cols = int("0" + "0".join("".join(col) for col in zip(*row_text, strict=True)), 2)
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
    dark, _free, order = _function_layout(version)
    # qrcode encodes a symbol ~20 ms in pure Python (bit-by-bit buffers, polynomial
    # objects, eight full re-encodings to pick the mask); the card budget is 8 ms for
    # everything, so encode once with table-driven RS and rows held as ints.
    data_rows = [0] * n
    position = 0
    for codeword in _codewords(segments, version, level):
        for shift in range(7, -1, -1):
            if codeword >> shift & 1:
                cell = order[position]
                data_rows[cell // n] |= 1 << (n - 1 - cell % n)
            position += 1
    patterns = range(8) if pattern is None else (pattern,)
    best_rows: list[int] = []
    best_score = -1
    for candidate in patterns:
        flip = _mask_rows(version, candidate)
        positions, values = _format_rows(version, level, candidate)
        rows = [
            ((fixed | (data ^ mask)) & ~pos) | val
            for fixed, data, mask, pos, val in zip(
                dark, data_rows, flip, positions, values, strict=True
            )
        ]
        score = _penalty(rows, n) if pattern is None else 0
        if best_score < 0 or score < best_score:
            best_rows, best_score = rows, score
    modules = [[bit == "1" for bit in format(row, f"0{n}b")] for row in best_rows]
    return QrCode(version=version, error_correction=level_name, modules=modules)


@lru_cache(maxsize=256)
def _qr_matrix(text: str) -> QrCode:
    # Cached: the issuing service renders the same card as PDF and as PNG preview.
    return encode_with_mask(text)


def dark_runs(qr: QrCode) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    runs: list[tuple[int, int, int]] = []
    for r, row in enumerate(qr.modules):
        start = -1
        for c, dark in enumerate(row):
            if dark and start < 0:
                start = c
            elif not dark and start >= 0:
                runs.append((r, start, c - start))
                start = -1
        if start >= 0:
            runs.append((r, start, len(row) - start))
    return runs


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
    top = y + size - QUIET_ZONE * module
    # Raw operators: reportlab's path object formats each float through several layers.
    ops = [
        f"{left + c * module:.3f} {top - (r + 1) * module:.3f} {length * module:.3f} "
        f"{module:.3f} re"
        for r, c, length in dark_runs(qr)
    ]
    ops.append("f")
    canvas._code.append("\n".join(ops))
    canvas.restoreState()
