"""Card rendering speed and memory. Run by hand: ``.venv/bin/python benchmarks/bench_pdf.py``.

Prints a table: one card PDF (both faces, photo, QR, Arabic name) against a naive
ReportLab card drawn module by module, and a 1,000-card A4 batch (time and peak memory,
measured in a fresh subprocess so earlier runs do not inflate maxrss).
"""

from __future__ import annotations

import base64
import datetime
import io
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from citizen_card.card import CardDesign, CardFace, render_card_pdf, render_sheet_pdf

TARGET_CARD_MS = 8.0
TARGET_BATCH_S = 5.0
TARGET_BATCH_MB = 200.0


def photo(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (350, 450), (rng.randrange(150, 230), 205, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 80, 250, 260), fill=(190, 150, 120))
    draw.rectangle((60, 300, 290, 450), fill=(60, 80, rng.randrange(90, 160)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def qr_text(seed: int) -> str:
    token = base64.b32encode(random.Random(seed).randbytes(130)).decode().rstrip("=")
    return f"HTTPS://VERIFY.LISBOA.EXAMPLE/V#{token}"


DESIGN = CardDesign(
    city_name="Lisboa",
    card_title="Cartão de cidadania local",
    verify_url="https://verify.lisboa.example/v",
    access_text="Bibliotecas, centros de saúde, escolas, transportes e serviços municipais.",
    multilingual_line="Lives in Lisboa · Réside à Lisboa · يقيم في لشبونة",
    return_address="Câmara Municipal de Lisboa, Praça do Município, 1100-365 Lisboa",
)


def card(seed: int, name: str = "محمد عبد الله الحسيني") -> CardFace:
    return CardFace(
        names=name,
        latin_name="Mohammed Abdullah Al-Husseini",
        photo_jpeg=photo(seed % 50),
        card_number="K7QF-3M9X-2PDA",
        valid_until=datetime.date(2030, 5, 31),
        qr_text=qr_text(seed),  # a new QR text each time: no cache hit in the timing
        labels=None,
    )


def naive_card(face: CardFace) -> bytes:
    """Baseline: plain ReportLab, standard fonts, one rect per dark QR module."""
    import qrcode
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(85.6 * mm, 53.98 * mm))
    canvas.setFillColorRGB(0.04, 0.31, 0.42)
    canvas.rect(0, 42 * mm, 85.6 * mm, 12 * mm, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(4 * mm, 48 * mm, DESIGN.city_name)
    canvas.drawImage(ImageReader(io.BytesIO(face.photo_jpeg)), 4 * mm, 4 * mm, 26 * mm, 34 * mm)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawString(33 * mm, 35 * mm, face.latin_name or face.names)
    canvas.drawString(33 * mm, 15 * mm, face.card_number)
    code = qrcode.QRCode(border=0)
    code.add_data(face.qr_text)
    code.make(fit=True)
    module = 0.34 * mm
    for r, row in enumerate(code.modules):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(60 * mm + c * module, 26 * mm - r * module, module, module, 0, 1)
    canvas.showPage()
    canvas.drawString(4 * mm, 40 * mm, DESIGN.verify_url)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def median_ms(func: object, runs: int) -> float:
    times = []
    for i in range(runs):
        face = card(10_000 + i)
        start = time.perf_counter()
        func(face)  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def batch_child(count: int) -> None:
    start = time.perf_counter()
    render_sheet_pdf((card(i) for i in range(count)), DESIGN, io.BytesIO())
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{elapsed:.3f} {peak_mb:.1f}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        batch_child(int(sys.argv[2]))
        return
    for i in range(20):  # warm up: font registration, caches, imports
        render_card_pdf(card(i), DESIGN)
        naive_card(card(i))
    ours = median_ms(lambda face: render_card_pdf(face, DESIGN), 200)
    naive = median_ms(naive_card, 100)
    result = subprocess.run(
        [sys.executable, __file__, "--batch", "1000"], capture_output=True, text=True, check=True
    )
    batch_s, batch_mb = (float(v) for v in result.stdout.split())
    rows = [
        ("one card PDF, median (ms)", ours, TARGET_CARD_MS),
        ("naive ReportLab card, median (ms)", naive, None),
        ("1,000-card A4 batch (s)", batch_s, TARGET_BATCH_S),
        ("1,000-card A4 batch, peak RSS (MB)", batch_mb, TARGET_BATCH_MB),
    ]
    print(f"{'measure':<38}{'value':>10}{'target':>10}  ok")
    for label, value, target in rows:
        ok = "" if target is None else ("yes" if value <= target else "NO")
        shown = "" if target is None else f"{target:.1f}"
        print(f"{label:<38}{value:>10.2f}{shown:>10}  {ok}")


if __name__ == "__main__":
    main()
