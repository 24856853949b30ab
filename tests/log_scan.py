"""Pytest plugin: no secret or resident name used by the tests may reach a log.

Registered from ``tests/conftest.py`` (``pytest_plugins = ["tests.log_scan"]``).

What it does, for the whole test session:

- Attaches one handler to the root logger (and to the ``gunicorn.error`` and
  ``gunicorn.access`` loggers, which do not propagate) and keeps every record, formatted
  with its traceback if it has one. The root logger is opened at INFO, and the project's
  own loggers (``citizen_card``, ``verify``) and ``werkzeug`` (the in-process access log)
  at DEBUG, so records a production server would write are all seen. The handler is put
  back before each test in case a test reconfigured logging.
- Remembers the secrets the tests use: the fixed ones from ``tests/conftest.py``
  (``TEST_PASSWORD`` and the default resident names), and every value generated while the
  tests run, by wrapping at session start: ``accounts.create_api_token`` (API tokens),
  ``accounts.generate_password`` (one-time staff passwords), ``accounts.start_session``
  (session ids), ``downloads.make_code`` (download codes),
  ``second_factor.new_secret`` (TOTP secrets), ``registry.validate_details`` (every
  name and contact registered, through the API, the pages or the services),
  ``registry.register`` (resident ids), ``issuance._create_card`` (card numbers, in their
  compact and printed forms, QR texts and their tokens, download codes as printed).
- Takes the output of other processes (``citizen-card serve``'s gunicorn access log, a
  CLI run) through :func:`scan_output`, so a subprocess's lines are searched too.
- Tests may add their own with :func:`remember_secret` (or the ``remember_secret``
  fixture, the same function).
- Inside :func:`not_remembering`, nothing is remembered: the schemathesis test uses it,
  because what it generates is noise, not a person's data, and a generated "name" such as
  ``request`` is an ordinary word of every log. The other tests register realistic names
  and check the logs for those.

At the end of the session every remembered value of at least ``MIN_SECRET_LENGTH``
characters is looked for in every record. Any hit is printed (which secret, shortened,
and the logger that wrote it) and the session fails with exit status 1 even when every
test passed. Shorter values are skipped: three-letter names would match ordinary words.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

MIN_SECRET_LENGTH = 6
# The fixed secrets of tests/conftest.py, repeated here so conftest needs no other edit.
FIXED_SECRETS = (
    "correct horse battery staple",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "María José",
    "García López",
)
EXTRA_LOGGERS = ("gunicorn.error", "gunicorn.access")
DEBUG_LOGGERS = ("citizen_card", "verify", "werkzeug")

_secrets: set[str] = set(FIXED_SECRETS)
_lock = threading.Lock()
_paused = threading.local()


@dataclass(frozen=True)
class Leak:
    secret: str
    logger: str
    line: str


class _Collector(logging.Handler):
    """Keeps every record as (logger name, formatted text)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a malformed record must not break the test that logged it
            text = f"{record.msg!r} {record.args!r}"
        with _lock:
            self.lines.append((record.name, text))


_collector = _Collector()
_saved_levels: dict[str, int] = {}
_undo: list[Callable[[], None]] = []
_leaks: list[Leak] = []


def remember_secret(value: object) -> None:
    """Fail the session if ``value`` (when it is text of 6 characters or more) is logged."""
    if getattr(_paused, "active", False):
        return
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value.strip())


@contextlib.contextmanager
def not_remembering() -> Iterator[None]:
    """Remember nothing the code under test makes in this thread while the block runs."""
    _paused.active = True
    try:
        yield
    finally:
        _paused.active = False


def is_remembered(value: str) -> bool:
    """Whether ``value`` is among the secrets looked for at the end of the session."""
    with _lock:
        return value.strip() in _secrets


@pytest.fixture(name="remember_secret", scope="session")
def remember_secret_fixture() -> Callable[[object], None]:
    """The :func:`remember_secret` function, for tests that prefer a fixture."""
    return remember_secret


def scan_output(source: str, text: str) -> None:
    """Search the output of another process (a server's access log) like log records."""
    with _lock:
        _collector.lines.extend((source, line) for line in text.splitlines() if line.strip())


def find_leaks(lines: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[Leak]:
    """Every (secret, record) pair where the record's text contains the secret."""
    wanted = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH})
    leaks = []
    for logger_name, line in lines:
        for secret in wanted:
            if secret in line:
                leaks.append(Leak(secret, logger_name, line))
    return leaks


def _shown(secret: str) -> str:
    # Enough to find it in the test code; not the whole token in CI output.
    return secret if len(secret) <= 12 else secret[:8] + "…"


def _remembering_result(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        remember_secret(result)
        return result

    return wrapped


def _remembering_details(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        details = function(*args, **kwargs)
        for name in ("given_names", "family_names", "latin_name", "used_name", "contact"):
            remember_secret(getattr(details, name, None))
        remember_secret(getattr(details, "printed_name", None))
        return details

    return wrapped


def _remembering_resident(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        resident = function(*args, **kwargs)
        remember_secret(resident.public_id)
        return resident

    return wrapped


def _remembering_card(function: Callable[..., Any]) -> Callable[..., Any]:
    from citizen_card.services.downloads import format_download_code
    from verify.cardnumber import format_card_number

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        issued = function(*args, **kwargs)
        number = issued.card.number
        for value in (number, format_card_number(number), issued.qr, issued.qr.split("#")[-1]):
            remember_secret(value)
        remember_secret(format_download_code(issued.download_code))
        return issued

    return wrapped


def _patch(module: Any, name: str, wrapper: Callable[[Callable[..., Any]], Any]) -> None:
    # A function renamed or moved must fail the session here, not silently go unwatched.
    original = getattr(module, name)
    setattr(module, name, wrapper(original))
    _undo.append(lambda: setattr(module, name, original))


def _attach() -> None:
    root = logging.getLogger()
    if _collector not in root.handlers:
        root.addHandler(_collector)
    for name in EXTRA_LOGGERS:
        logger = logging.getLogger(name)
        if _collector not in logger.handlers:
            logger.addHandler(_collector)


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    _saved_levels[""] = root.level
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for name in DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        _saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
    _attach()

    from citizen_card.services import accounts, downloads, issuance, registry

    _patch(registry, "register", _remembering_resident)
    _patch(issuance, "_create_card", _remembering_card)
    _patch(accounts, "create_api_token", _remembering_result)
    _patch(accounts, "generate_password", _remembering_result)
    _patch(accounts, "start_session", _remembering_result)
    _patch(downloads, "make_code", _remembering_result)
    _patch(registry, "validate_details", _remembering_details)
    try:
        from citizen_card.services import second_factor
    except ImportError:  # the module is optional for this plugin
        pass
    else:
        _patch(second_factor, "new_secret", _remembering_result)


def pytest_runtest_setup(item: pytest.Item) -> None:
    _attach()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with _lock:
        lines, secrets = list(_collector.lines), set(_secrets)
    _leaks.extend(find_leaks(lines, secrets))
    if _leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    for undo in reversed(_undo):
        undo()
    _undo.clear()
    root = logging.getLogger()
    for name in (*EXTRA_LOGGERS, ""):
        logging.getLogger(name).removeHandler(_collector)
    for name, level in _saved_levels.items():
        (logging.getLogger(name) if name else root).setLevel(level)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _leaks:
        return
    terminalreporter.section("secrets found in logs", sep="!", red=True, bold=True)
    for leak in _leaks:
        terminalreporter.write_line(
            f"{_shown(leak.secret)!r} logged by {leak.logger!r}: "
            + leak.line.replace(leak.secret, _shown(leak.secret))[:200]
        )
