"""What the simulator is allowed and asked to do: serve on loopback only, the faults it injects
(drawn from the seed and the request), and the token bucket behind its 429 answers."""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from dataclasses import dataclass


def check_loopback(host: str) -> None:
    """Raises ValueError unless every address `host` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as e:
        raise ValueError(f"cannot resolve {host!r}: {e}") from None
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not addr.is_loopback:
            raise ValueError(
                f"the simulator binds loopback addresses only; {host!r} resolves to {addr}"
            )


@dataclass
class Faults:
    """Probabilities of each fault per request, and the request rate limit."""

    refuse_rate: float = 0.0
    drop_rate: float = 0.0
    error_rate: float = 0.0
    slow_rate: float = 0.0
    cut_rate: float = 0.0
    invent_rate: float = 0.0
    slow_seconds: float = 2.0
    rpm_limit: float | None = None
    rpm_burst: int | None = None

    def __post_init__(self) -> None:
        for name in ("refuse_rate", "drop_rate", "error_rate", "slow_rate", "cut_rate"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {v}")
        if not 0.0 <= self.invent_rate <= 1.0:
            raise ValueError(f"invent_rate must be within [0, 1], got {self.invent_rate}")
        if self.rpm_limit is not None and self.rpm_limit <= 0:
            raise ValueError(f"rpm_limit must be positive, got {self.rpm_limit}")


class TokenBucket:
    """Requests per minute as a bucket of `burst` tokens refilled at rpm / 60 per second."""

    def __init__(self, rpm: float, burst: int | None = None):
        self.rate = rpm / 60.0
        self.capacity = float(burst if burst is not None else max(1, math.ceil(self.rate)))
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0.0 if a request may pass now, else the seconds until it may."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate
