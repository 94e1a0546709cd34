"""Failed-login throttling that slows guessing without letting anyone lock a user out.

Two limits, as the OWASP Authentication cheat sheet advises:

- **Per email and client address.** The first ``max_failures`` failures within ``window``
  seconds cost nothing; each one after that makes the next attempt from that address for that
  email wait, the wait doubling from ``delay`` up to ``max_delay``. Failures from one address
  never slow the same email from another, so an attacker elsewhere cannot keep its owner out.
- **Per client address, across emails.** ``address_max_failures`` failures within ``window``
  refuse that address's logins until the window ends, so spreading guesses over many emails
  is slowed too.

Emails are keyed whether or not an account has them, so a refusal reveals nothing. A success
clears its (email, address) entry. The state is per process and bounded in size.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from sourcevault.errors import RateLimited

K = TypeVar("K")
V = TypeVar("V")

REFUSED = "Too many failed logins; try again later"


@dataclass
class _Guesses:
    failures: int = 0
    last: float = 0.0
    wait_until: float = 0.0


@dataclass
class _Window:
    start: float
    failures: int = 0


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300,
        delay: float = 1.0,
        max_delay: float = 900,
        address_max_failures: int = 100,
        capacity: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.delay = delay
        self.max_delay = max_delay
        self.address_max_failures = address_max_failures
        self.capacity = capacity
        self._guesses: OrderedDict[tuple[str, str], _Guesses] = OrderedDict()
        self._addresses: OrderedDict[str, _Window] = OrderedDict()

    def check(self, email: str, address: str) -> None:
        """Raise ``RateLimited`` (with the wait) when this attempt must not be tried now."""
        now = time.monotonic()
        waits = []
        guesses = self._guesses.get((email, address))
        if guesses is not None and guesses.wait_until > now:
            waits.append(guesses.wait_until - now)
        window = self._addresses.get(address)
        if (
            window is not None
            and now - window.start < self.window
            and window.failures >= self.address_max_failures
        ):
            waits.append(window.start + self.window - now)
        if waits:
            raise RateLimited(REFUSED, retry_after=max(waits))

    def failed(self, email: str, address: str) -> None:
        now = time.monotonic()
        key = (email, address)
        guesses = self._guesses.pop(key, None) or _Guesses()
        if now - guesses.last >= self.window:
            guesses.failures = 0
        guesses.failures += 1
        guesses.last = now
        over = guesses.failures - self.max_failures
        if over >= 0:
            guesses.wait_until = now + min(self.max_delay, self.delay * 2**over)
        _put(self._guesses, key, guesses, self.capacity)

        window = self._addresses.pop(address, None)
        if window is None or now - window.start >= self.window:
            window = _Window(start=now)
        window.failures += 1
        _put(self._addresses, address, window, self.capacity)

    def succeeded(self, email: str, address: str) -> None:
        self._guesses.pop((email, address), None)


def _put(entries: OrderedDict[K, V], key: K, value: V, capacity: int) -> None:
    entries[key] = value  # the newest last; the oldest go first when full
    while len(entries) > capacity:
        entries.popitem(last=False)
