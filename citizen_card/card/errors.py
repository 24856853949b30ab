"""The one error type the rendering package raises."""

from __future__ import annotations


class RenderError(Exception):
    """A card cannot be rendered from the values given (bad photo, QR text too long...).

    ``code`` is stable and machine-readable (``bad_photo``, ``bad_logo``, ``qr_empty``,
    ``qr_too_long``, ``bad_color``); the message is for the log, never shown to a resident.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
