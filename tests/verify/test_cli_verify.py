"""`python -m verify`: text, PNG and PDF input, exit codes, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qrcode
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from verify.credential import Ed25519Signer, qr_text
from verify.status import STATUS_REVOKED, StatusBits, encode_status_list

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000
BASE = "https://verify.city.example"


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.fixture
def trust_file(tmp_path: Path, jwks: dict[str, Any]) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    return path


@pytest.fixture
def card_text(make_token: Callable[..., str]) -> str:
    return qr_text(BASE, make_token())


def _offline(trust_file: Path, *extra: str) -> list[str]:
    return ["--trust", str(trust_file), "--offline", "--now", str(NOW), *extra]


def save_list(
    directory: Path, signer: Ed25519Signer, *, signed_ago: int, revoked: tuple[int, ...] = ()
) -> Path:
    """Save list 3 of LIS as a verifier keeps it: signed ``signed_ago`` seconds before NOW,
    valid 7 days from then (as the issuer signs them)."""
    bits = StatusBits()
    for index in revoked:
        bits.set(index, STATUS_REVOKED)
    saved = directory / "LIS" / "3.cwt"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(
        encode_status_list(
            bits,
            uri=f"{BASE}/status/3",
            issued_at=NOW - signed_ago,
            expires_at=NOW - signed_ago + 7 * 86400,
            ttl=300,
            signer=signer,
        )
    )
    return directory


@pytest.fixture
def fresh_list(tmp_path: Path, signer: Ed25519Signer) -> Path:
    return save_list(tmp_path / "status", signer, signed_ago=7200)


def test_valid_text_exits_0_with_a_human_summary(
    card_text: str, trust_file: Path, fresh_list: Path
) -> None:
    done = run_cli(card_text, *_offline(trust_file, "--status-dir", str(fresh_list)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "VALID (ok)"
    assert "Maria da Conceição Silva" in done.stdout
    assert "Lisboa (LIS)" in done.stdout
    assert "status list:  from 2027-01-15 06:00 UTC (2 h old)" in done.stdout
    assert "latin form" not in done.stdout


def test_json_output_is_the_public_result(
    card_text: str, trust_file: Path, fresh_list: Path
) -> None:
    done = run_cli(card_text, *_offline(trust_file, "--json", "--status-dir", str(fresh_list)))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["valid"] is True and body["reason"] == "ok"
    assert body["issuer_id"] == "LIS"
    assert (body["status_checked_at"], body["status_age_seconds"]) == ("2027-01-15T06:00:00Z", 7200)
    assert set(body) == {
        "valid",
        "reason",
        "name",
        "latin_name",
        "card_number",
        "issued_at",
        "expires_at",
        "issuer",
        "issuer_id",
        "status_checked_at",
        "status_age_seconds",
    }


def test_offline_without_a_saved_list_cannot_confirm_and_exits_3(
    card_text: str, trust_file: Path
) -> None:
    # The card is genuine and in date, but nothing says it was not revoked.
    done = run_cli(card_text, *_offline(trust_file))
    assert done.returncode == 3
    assert done.stdout.splitlines()[0] == "CANNOT CONFIRM (status_unknown)"
    assert "status list:  none could be read" in done.stdout
    body = json.loads(run_cli(card_text, *_offline(trust_file, "--json")).stdout)
    assert (body["valid"], body["reason"], body["name"]) == (
        False,
        "status_unknown",
        "Maria da Conceição Silva",
    )
    assert (body["status_checked_at"], body["status_age_seconds"]) == (None, None)


@pytest.mark.parametrize(
    ("signed_ago", "extra", "code", "reason"),
    [
        # Within the default 24 h window, then just past it.
        (86400, [], 0, "ok"),
        (86401, [], 3, "status_unknown"),
        # A wider window the verifier chose, but never past the list's own exp (7 days).
        (3 * 86400, ["--max-status-age", "96"], 0, "ok"),
        (8 * 86400, ["--max-status-age", "240"], 3, "status_unknown"),
        # A narrower one.
        (7200, ["--max-status-age", "1"], 3, "status_unknown"),
    ],
)
def test_saved_list_counts_only_within_the_freshness_window(
    tmp_path: Path,
    card_text: str,
    trust_file: Path,
    signer: Ed25519Signer,
    signed_ago: int,
    extra: list[str],
    code: int,
    reason: str,
) -> None:
    status_dir = save_list(tmp_path / "status", signer, signed_ago=signed_ago)
    done = run_cli(
        card_text, *_offline(trust_file, "--json", "--status-dir", str(status_dir), *extra)
    )
    body = json.loads(done.stdout)
    assert (done.returncode, body["reason"]) == (code, reason)
    # The age of the list used is always said, fresh or not.
    assert body["status_age_seconds"] == signed_ago


def test_stale_list_says_when_it_is_from(
    tmp_path: Path, card_text: str, trust_file: Path, signer: Ed25519Signer
) -> None:
    status_dir = save_list(tmp_path / "status", signer, signed_ago=8 * 86400)
    done = run_cli(card_text, *_offline(trust_file, "--status-dir", str(status_dir)))
    assert done.returncode == 3
    assert done.stdout.startswith("CANNOT CONFIRM (status_unknown)")
    assert "status list:  from 2027-01-07 08:00 UTC (8 days old), older than 24 h" in done.stdout


@pytest.mark.parametrize("signed_ago", [7200, 2 * 86400, 8 * 86400])
def test_revoked_in_a_saved_list_is_revoked_however_old(
    tmp_path: Path,
    card_text: str,
    trust_file: Path,
    signer: Ed25519Signer,
    signed_ago: int,
) -> None:
    # Revoked as stolen, the list saved, the verifier offline for days: still revoked.
    status_dir = save_list(tmp_path / "status", signer, signed_ago=signed_ago, revoked=(4242,))
    done = run_cli(card_text, *_offline(trust_file, "--status-dir", str(status_dir)))
    assert done.returncode == 1
    assert done.stdout.startswith("NOT VALID (revoked)")
    body = json.loads(
        run_cli(card_text, *_offline(trust_file, "--json", "--status-dir", str(status_dir))).stdout
    )
    assert (body["valid"], body["reason"], body["status_age_seconds"]) == (
        False,
        "revoked",
        signed_ago,
    )


def test_invalid_token_exits_1(card_text: str, trust_file: Path) -> None:
    done = run_cli(card_text[:-4], *_offline(trust_file, "--json"))
    assert done.returncode == 1
    assert json.loads(done.stdout)["reason"] == "malformed"


def test_expired_card_exits_1(card_text: str, trust_file: Path) -> None:
    # No list is needed to know that: an expired card is not valid, whatever its status.
    done = run_cli(card_text, "--trust", str(trust_file), "--offline", "--now", str(NOW + 10**9))
    assert done.returncode == 1
    assert done.stdout.startswith("NOT VALID (expired)")
    assert "status list:  not needed" in done.stdout


def test_text_on_stdin(card_text: str, trust_file: Path, fresh_list: Path) -> None:
    done = run_cli(
        "-", *_offline(trust_file, "--status-dir", str(fresh_list)), stdin=card_text + "\n"
    )
    assert done.returncode == 0, done.stderr


def test_latin_form_is_shown_beside_the_name(
    make_token: Callable[..., str], trust_file: Path, fresh_list: Path
) -> None:
    text = qr_text(BASE, make_token(name="فاطمة الزهراء", latin_name="Fatima Alzahra"))
    done = run_cli(text, *_offline(trust_file, "--status-dir", str(fresh_list)))
    assert done.returncode == 0, done.stderr
    assert "name:         فاطمة الزهراء\nlatin form:   Fatima Alzahra\n" in done.stdout
    body = json.loads(
        run_cli(text, *_offline(trust_file, "--json", "--status-dir", str(fresh_list))).stdout
    )
    assert (body["name"], body["latin_name"]) == ("فاطمة الزهراء", "Fatima Alzahra")


def test_help_documents_the_exit_statuses() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for line in ("0  valid", "1  not valid", "2  usage error", "3  cannot confirm"):
        assert line in done.stdout


def test_png_photo_of_a_qr_code(
    tmp_path: Path, card_text: str, trust_file: Path, fresh_list: Path
) -> None:
    image = qrcode.make(card_text, error_correction=qrcode.constants.ERROR_CORRECT_M)
    path = tmp_path / "card.png"
    image.save(path)
    done = run_cli(str(path), *_offline(trust_file, "--json", "--status-dir", str(fresh_list)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Maria da Conceição Silva"


def test_pdf_with_a_vector_qr_code(
    tmp_path: Path, card_text: str, trust_file: Path, fresh_list: Path
) -> None:
    path = tmp_path / "card.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(85.6 * mm, 53.98 * mm))
    widget = QrCodeWidget(card_text, barLevel="M", barWidth=30 * mm, barHeight=30 * mm)
    drawing = Drawing(30 * mm, 30 * mm)
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, 50 * mm, 10 * mm)
    pdf.drawString(5 * mm, 40 * mm, "Maria da Conceicao Silva")
    pdf.save()
    done = run_cli(str(path), *_offline(trust_file, "--json", "--status-dir", str(fresh_list)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True


def test_image_without_qr_code_exits_2(tmp_path: Path, trust_file: Path) -> None:
    from PIL import Image

    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    done = run_cli(str(path), *_offline(trust_file))
    assert done.returncode == 2
    assert "no QR code" in done.stderr


def test_an_image_of_too_many_pixels_exits_2(tmp_path: Path, trust_file: Path) -> None:
    from tests.images import png_bytes

    path = tmp_path / "huge.png"
    path.write_bytes(png_bytes(20000, 20000, 1, 0, rows=False))
    done = run_cli(str(path), *_offline(trust_file))
    assert done.returncode == 2
    assert "cannot read image" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["missing.png", "--trust", "{trust}"], "no such file"),
        (["{card}", "--trust", "/nonexistent/jwks.json"], "cannot read"),
        (["{card}"], "--trust"),
        (["{card}", "--trust", "{trust}", "--now", "soon"], "invalid int"),
        (["{card}", "--trust", "{trust}", "--max-status-age", "0"], "at least 1 hour"),
        (["{card}", "--trust", "{trust}", "--max-status-age", "1.5"], "whole number"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], complaint: str, card_text: str, trust_file: Path
) -> None:
    done = run_cli(*(a.format(card=card_text, trust=trust_file) for a in args))
    assert done.returncode == 2
    assert complaint in done.stderr


def test_file_that_is_not_an_image_exits_2(tmp_path: Path, trust_file: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    done = run_cli(str(path), *_offline(trust_file))
    assert done.returncode == 2
    assert "not a PNG, JPEG or PDF" in done.stderr
