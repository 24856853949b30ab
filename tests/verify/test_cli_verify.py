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


def test_valid_text_exits_0_with_a_human_summary(card_text: str, trust_file: Path) -> None:
    done = run_cli(card_text, *_offline(trust_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "VALID (ok)"
    assert "Maria da Conceição Silva" in done.stdout
    assert "Lisboa (LIS)" in done.stdout
    assert "status list:  not checked" in done.stdout


def test_json_output_is_the_public_result(card_text: str, trust_file: Path) -> None:
    done = run_cli(card_text, *_offline(trust_file, "--json"))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["valid"] is True and body["reason"] == "ok"
    assert body["issuer_id"] == "LIS"
    assert set(body) == {
        "valid",
        "reason",
        "name",
        "card_number",
        "issued_at",
        "expires_at",
        "issuer",
        "issuer_id",
    }


def test_invalid_token_exits_1(card_text: str, trust_file: Path) -> None:
    done = run_cli(card_text[:-4], *_offline(trust_file, "--json"))
    assert done.returncode == 1
    assert json.loads(done.stdout)["reason"] == "malformed"


def test_expired_card_exits_1(card_text: str, trust_file: Path) -> None:
    done = run_cli(card_text, "--trust", str(trust_file), "--offline", "--now", str(NOW + 10**9))
    assert done.returncode == 1
    assert done.stdout.startswith("NOT VALID (expired)")


def test_text_on_stdin(card_text: str, trust_file: Path) -> None:
    done = run_cli("-", *_offline(trust_file), stdin=card_text + "\n")
    assert done.returncode == 0, done.stderr


def test_revoked_via_saved_status_list(
    tmp_path: Path, card_text: str, trust_file: Path, signer: Ed25519Signer
) -> None:
    bits = StatusBits()
    bits.set(4242, STATUS_REVOKED)
    saved = tmp_path / "status" / "LIS" / "3.cwt"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(
        encode_status_list(
            bits,
            uri=f"{BASE}/status/3",
            issued_at=NOW - 7200,
            expires_at=NOW + 86400,
            ttl=3600,
            signer=signer,
        )
    )
    done = run_cli(card_text, *_offline(trust_file, "--status-dir", str(tmp_path / "status")))
    assert done.returncode == 1
    assert done.stdout.startswith("NOT VALID (revoked)")
    assert "status list:  2 h old" in done.stdout


def test_png_photo_of_a_qr_code(tmp_path: Path, card_text: str, trust_file: Path) -> None:
    image = qrcode.make(card_text, error_correction=qrcode.constants.ERROR_CORRECT_M)
    path = tmp_path / "card.png"
    image.save(path)
    done = run_cli(str(path), *_offline(trust_file, "--json"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Maria da Conceição Silva"


def test_pdf_with_a_vector_qr_code(tmp_path: Path, card_text: str, trust_file: Path) -> None:
    path = tmp_path / "card.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(85.6 * mm, 53.98 * mm))
    widget = QrCodeWidget(card_text, barLevel="M", barWidth=30 * mm, barHeight=30 * mm)
    drawing = Drawing(30 * mm, 30 * mm)
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, 50 * mm, 10 * mm)
    pdf.drawString(5 * mm, 40 * mm, "Maria da Conceicao Silva")
    pdf.save()
    done = run_cli(str(path), *_offline(trust_file, "--json"))
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
