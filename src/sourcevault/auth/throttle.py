"""Failed-login throttling per account (by email, known or not, so it leaks nothing).

After ``max_failures`` failures within ``window`` seconds, logins for that email are refused
with ``RATE_LIMITED`` for ``lockout`` seconds; then the count starts over. An attacker is slowed
to ``max_failures`` guesses per ``lockout``; the owner is never locked out for longer than that.
The state is per process and bounded in size.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from sourcevault.errors import RateLimited


@dataclass
class _Entry:
    failures: list[float]
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300,
        lockout: float = 60,
        capacity: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def check(self, email: str) -> None:
        entry = self._entries.get(email)
        now = time.monotonic()
        if entry and entry.locked_until > now:
            raise RateLimited(
                "Too many failed logins; try again later", retry_after=entry.locked_until - now
            )

    def failed(self, email: str) -> None:
        now = time.monotonic()
        entry = self._entries.pop(email, None) or _Entry(failures=[])
        entry.failures = [t for t in entry.failures if now - t < self.window] + [now]
        if len(entry.failures) >= self.max_failures:
            entry.locked_until = now + self.lockout
            entry.failures = []
        self._entries[email] = entry
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def succeeded(self, email: str) -> None:
        self._entries.pop(email, None)
