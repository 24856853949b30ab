"""``python -m verify INPUT --trust FILE_OR_URL``: check a card offline or online.

INPUT is the scanned text (a verify URL or a bare token), ``-`` for text on stdin, or a
path to a PNG/JPEG photo or a PDF of a card. The answer is one of three, each with its
exit status: 0 valid (signature, dates and a status list at most ``--max-status-age``
hours old agree), 1 not valid (the reason says why), 3 cannot confirm (no status list
could be read, or the newest one is too old: the reason is ``status_unknown``). Exit
status 2 is a usage error (unreadable file, no QR code found, bad trust source).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from verify.credential import (
    ANSWER_CANNOT_CONFIRM,
    ANSWER_VALID,
    STATUS_MAX_AGE_SECONDS,
    VerificationResult,
    verify_text,
)
from verify.status import FileStatusSource, HttpStatusSource, StatusSource
from verify.trust import TrustError, TrustStore, load_trust

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_CANNOT_CONFIRM = 3
_HEADINGS = {ANSWER_VALID: "VALID", ANSWER_CANNOT_CONFIRM: "CANNOT CONFIRM"}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf")
PDF_DPI = 300


class UsageError(Exception):
    """The command line cannot be acted on; exit status 2."""


def _decode_qr(image: object) -> str:
    import zxingcpp  # imported here: plain text input needs no image libraries

    barcodes = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        text_mode=zxingcpp.TextMode.Plain,
    )
    if not barcodes:
        raise UsageError("no QR code found")
    return str(barcodes[0].text)


def _text_from_file(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if magic.startswith(b"%PDF-"):
        return _text_from_pdf(path)
    if magic.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                return _decode_qr(image.convert("L"))
        # Pillow refuses images of more than 179 million pixels (decompression bombs).
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise UsageError(f"cannot read image {path}: {exc}") from exc
    raise UsageError(f"{path} is not a PNG, JPEG or PDF file")


def _text_from_pdf(path: Path) -> str:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        raise UsageError(f"cannot read PDF {path}: {exc}") from exc
    try:
        if len(document) == 0:
            raise UsageError(f"{path} has no pages")
        page = document[0]
        bitmap = page.render(scale=PDF_DPI / 72)
        image = bitmap.to_pil().convert("L")
        bitmap.close()
        page.close()
    finally:
        document.close()
    return _decode_qr(image)


def _input_text(value: str) -> str:
    if value == "-":
        return sys.stdin.read(1 << 16)
    path = Path(value)
    if "#" not in value and path.is_file():
        return _text_from_file(path)
    if value.lower().endswith(_IMAGE_SUFFIXES):
        raise UsageError(f"no such file: {value}")
    return value


def _load_trust(sources: Sequence[str]) -> TrustStore:
    store = TrustStore()
    for source in sources:
        store = store.merged(load_trust(source))
    return store


def _date(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _age(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60} min old"
    if seconds < 172800:
        return f"{seconds // 3600} h old"
    return f"{seconds // 86400} days old"


def _status_line(result: VerificationResult, max_age: int) -> str:
    if result.status_checked_at is None or result.status_age_seconds is None:
        if result.reason == "status_unknown":
            return "none could be read: the card's status is unknown"
        return "not needed"
    line = f"from {_date(result.status_checked_at)} ({_age(result.status_age_seconds)})"
    if result.reason == "status_unknown":
        line += f", older than {max_age // 3600} h or past its expiry: not recent enough"
    return line


def _human(result: VerificationResult, max_age: int) -> str:
    heading = _HEADINGS.get(result.answer, "NOT VALID")
    lines = [f"{heading} ({result.reason})"]
    if result.name is not None:
        lines.append(f"name:         {result.name}")
        if result.latin_name is not None:
            lines.append(f"latin form:   {result.latin_name}")
        lines += [
            f"card number:  {result.card_number}",
            f"expires:      {_date(result.expires_at)}",
            f"issuer:       {result.issuer_name} ({result.issuer_id})",
            f"status list:  {_status_line(result, max_age)}",
        ]
    return "\n".join(lines)


_EXIT_STATUS = {ANSWER_VALID: EXIT_VALID, ANSWER_CANNOT_CONFIRM: EXIT_CANNOT_CONFIRM}
_EPILOG = """exit status:
  0  valid: signature, dates and a recent status list agree
  1  not valid: the reason says why (revoked, expired, bad_signature, ...)
  2  usage error: unreadable input or trust source, no QR code found
  3  cannot confirm: no status list could be read, or the newest is older than
     --max-status-age (reason status_unknown); a revocation in an old list still
     gives 1
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify",
        description="Check a local citizenship card.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="scanned text, '-' for stdin, or a PNG/JPEG/PDF file")
    parser.add_argument(
        "--trust",
        action="append",
        required=True,
        help="issuer JWKS or trust list: file or http(s) URL (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--status-dir", type=Path, help="directory of saved status lists")
    parser.add_argument("--offline", action="store_true", help="no network: use only --status-dir")
    parser.add_argument("--now", type=int, help="check as of this Unix time")
    parser.add_argument(
        "--max-status-age",
        type=_hours,
        default=str(STATUS_MAX_AGE_SECONDS // 3600),
        metavar="HOURS",
        help="oldest status list that can confirm a card (default %(default)s)",
    )
    return parser


def _hours(text: str) -> int:
    try:
        hours = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of hours: {text!r}") from None
    if hours < 1:
        raise argparse.ArgumentTypeError("at least 1 hour")
    return hours * 3600


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        trust = _load_trust(args.trust)
        text = _input_text(args.input)
    except (UsageError, TrustError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    now = args.now if args.now is not None else int(time.time())
    status: StatusSource | None = None
    if args.offline:
        if args.status_dir is not None:
            status = FileStatusSource(args.status_dir, trust, now=lambda: now)
    else:
        status = HttpStatusSource(trust, args.status_dir, now=lambda: now)
    result = verify_text(text, trust, now=now, status=status, status_max_age=args.max_status_age)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(_human(result, args.max_status_age))
    return _EXIT_STATUS.get(result.answer, EXIT_INVALID)


if __name__ == "__main__":
    sys.exit(main())
