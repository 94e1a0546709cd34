"""How many sockets one user, and one client address, may hold open on this instance.

Counted per instance: behind a load balancer that spreads one client over several instances
the caps are per instance too. A socket counts from its accepted handshake to its disconnect;
an abandoned polling session stops counting when Engine.IO's heartbeat gives up on it.
"""

from __future__ import annotations

from collections import Counter

from sourcevault.errors import RateLimited


class ConnectionCaps:
    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._users: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    def acquire(self, user_id: str, address: str) -> None:
        """Count one more socket, or raise ``RateLimited`` and count nothing."""
        if self._users[user_id] >= self.per_user:
            raise RateLimited(f"Too many open connections for this user (at most {self.per_user})")
        if self._addresses[address] >= self.per_address:
            raise RateLimited(
                f"Too many open connections from this address (at most {self.per_address})"
            )
        self._users[user_id] += 1
        self._addresses[address] += 1

    def release(self, user_id: str, address: str) -> None:
        for counts, key in ((self._users, user_id), (self._addresses, address)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
