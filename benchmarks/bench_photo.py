"""Photo decoding cost: time and peak memory of ``normalise_photo`` on phone-sized uploads.

Run by hand: ``.venv/bin/python benchmarks/bench_photo.py``. Each photo is made in one
subprocess and normalised in another, and the parent stays small: Linux carries the peak
resident memory (``ru_maxrss``) of a process over into the programs it starts, so a big
parent would hide the cost. The table shows the peak minus the size just before the call.
Pillow allocates pixels outside Python's allocator, so tracemalloc would not see them.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _scene(size: tuple[int, int], noise_level: float = 0.08) -> Image.Image:
    """A smooth picture with some detail, so that JPEG sizes look like a phone's."""
    small = Image.new("RGB", (64, 48), (200, 170, 150))
    draw = ImageDraw.Draw(small)
    draw.ellipse((20, 8, 44, 36), fill=(180, 130, 100))
    draw.rectangle((10, 36, 54, 48), fill=(40, 60, 120))
    image = small.resize(size, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(image, noise, noise_level).filter(ImageFilter.SMOOTH)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def grey16_png() -> bytes:
    image = Image.new("I;16", (6300, 6300), 30000)
    ImageDraw.Draw(image).ellipse((1500, 1000, 4800, 5000), fill=45000)
    return _save(image, "PNG")


def phone_jpeg() -> bytes:
    return _save(_scene((4032, 3024)), "JPEG", quality=90, exif=_exif(6))


def phone_mpo() -> bytes:
    first = _scene((4032, 3024))
    return _save(first, "MPO", save_all=True, append_images=[first.transpose(0)], quality=90)


def big_jpeg() -> bytes:
    return _save(_scene((7000, 5000)), "JPEG", quality=85)


def progressive_jpeg() -> bytes:
    return _save(_scene((6000, 4000)), "JPEG", quality=85, progressive=True)


def rgb_png() -> bytes:
    return _save(_scene((4032, 3024), noise_level=0.0), "PNG")


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


CASES: dict[str, Callable[[], bytes]] = {
    "16-bit grey PNG, 6300 x 6300": grey16_png,
    "phone JPEG, 12 MP, rotated by EXIF": phone_jpeg,
    "phone MPO, 12 MP, two frames": phone_mpo,
    "JPEG, 35 MP": big_jpeg,
    "progressive JPEG, 24 MP": progressive_jpeg,
    "PNG, 12 MP RGB": rgb_png,
}


def child(path: str) -> None:
    from citizen_card.services.errors import ValidationFailed
    from citizen_card.services.photos import normalise_photo

    data = Path(path).read_bytes()
    normalise_photo(_save(Image.new("RGB", (400, 500)), "JPEG"), max_bytes=len(data) + 1)
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        normalise_photo(data, max_bytes=8 * 1024 * 1024)
        outcome = "stored"
    except ValidationFailed as exc:
        outcome = f"422 {exc.code}"
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{elapsed:.3f}\t{(peak_kb - before_kb) / 1024:.0f}\t{outcome}")


def _run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        child(sys.argv[2])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--make":
        Path(sys.argv[3]).write_bytes(CASES[sys.argv[2]]())
        return
    print(f"{'upload':<38}{'size':>9}{'time':>9}{'memory':>9}  outcome")
    with tempfile.TemporaryDirectory() as folder:
        for label in CASES:
            path = Path(folder) / "photo"
            _run("--make", label, str(path))
            seconds, megabytes, outcome = _run("--one", str(path)).split("\t")
            size = f"{path.stat().st_size / 1024:.0f} KB"
            print(
                f"{label:<38}{size:>9}{float(seconds) * 1000:>7.0f}ms{megabytes:>6} MB  {outcome}"
            )


if __name__ == "__main__":
    main()
