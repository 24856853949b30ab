"""How ``citizen-card serve`` runs the service: processes, threads, cookies, access log.

- **Limits hold as configured.** Rate-limit counters live in the limiter's storage. With
  the embedded default (``memory://``) every process would count on its own, and each
  limit would be multiplied by the number of processes; so the service runs as one
  process with threads. Several processes need a storage they share
  (``RATELIMIT_STORAGE_URI=redis://…``), and asking for them without one is refused.
- **Secure by default.** On any address but loopback the service is reached over a
  network, so the session cookie gets ``Secure`` (and the ``__Host-`` prefix) and pages
  send HSTS, unless ``--plain-http`` says it is a test network without TLS. Behind a
  reverse proxy on the same host, set ``SECURE_COOKIES`` (and ``PROXY_COUNT``).
- **The access log** names the route template, never a path or an address (wiring.py).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from citizen_card.config import Settings
from citizen_card.wiring import ROUTE_ENVIRON_KEY

DEFAULT_THREADS = 8
DEFAULT_SHARED_WORKERS = 2
# gunicorn's atom for a WSGI environ variable is %({name}e)s, the name in lower case.
ACCESS_LOG_FORMAT = '%(t)s "%(m)s %({' + ROUTE_ENVIRON_KEY + '}e)s" %(s)s %(b)s %(L)ss'


class ServeRefused(ValueError):
    """The asked-for set-up would weaken a promise; the message says what to do."""


@dataclass(frozen=True)
class ServePlan:
    settings: Settings
    workers: int
    threads: int
    warnings: tuple[str, ...] = ()

    def gunicorn_options(self, host: str, port: int) -> dict[str, object]:
        return {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": self.workers,
            "worker_class": "gthread",
            "threads": self.threads,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "forwarded_allow_ips": "127.0.0.1",
        }


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it is reached over a network


def plan(
    settings: Settings,
    *,
    host: str,
    workers: int | None,
    threads: int | None,
    plain_http: bool,
) -> ServePlan:
    """Decide processes, threads and cookie security for ``citizen-card serve``.

    :raises ServeRefused: several processes asked for with per-process limit counters.
    """
    shared_limits = not settings.ratelimit_storage_uri.startswith("memory://")
    if workers is None:
        workers = DEFAULT_SHARED_WORKERS if shared_limits else 1
    if workers < 1:
        raise ServeRefused("--workers must be at least 1")
    if workers > 1 and not shared_limits:
        raise ServeRefused(
            f"{workers} worker processes with RATELIMIT_STORAGE_URI=memory:// would each "
            "count their own rate limits, multiplying every limit. Serve with one worker "
            "(the default, which uses threads), or set RATELIMIT_STORAGE_URI to a Redis "
            "that all workers share (e.g. redis://127.0.0.1:6379)."
        )
    warnings: list[str] = []
    if not is_loopback(host) and not settings.secure_cookies:
        if plain_http:
            warnings.append(
                f"Serving on {host} over plain HTTP: cookies are not Secure and there is no "
                "HSTS. Use this on a test network only."
            )
        else:
            settings = replace(settings, secure_cookies=True)
    return ServePlan(settings, workers, threads or DEFAULT_THREADS, tuple(warnings))


__all__ = ["ACCESS_LOG_FORMAT", "ServePlan", "ServeRefused", "is_loopback", "plan"]
