"""Form bodies built by hand, for what no browser sends (raw bytes, a file where text
belongs) and for bodies werkzeug's test client would spool to a temporary file."""

from __future__ import annotations

import secrets
from urllib.parse import quote_from_bytes

Part = tuple[str, bytes, str | None]  # name, value, file name (None: a text field)


def multipart(parts: list[Part]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data post of ``parts``."""
    boundary = "form-" + secrets.token_hex(8)
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def urlencoded(parts: list[Part]) -> tuple[bytes, str]:
    """(body, content type) of an application/x-www-form-urlencoded post of ``parts``."""
    pairs = [
        f"{quote_from_bytes(name.encode())}={quote_from_bytes(value)}" for name, value, _ in parts
    ]
    return "&".join(pairs).encode(), "application/x-www-form-urlencoded"


def text_parts(fields: dict[str, object]) -> list[Part]:
    """Text fields (a list value gives the field once per item)."""
    parts: list[Part] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append((name, str(item).encode(), None))
    return parts
