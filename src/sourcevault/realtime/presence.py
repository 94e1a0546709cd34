"""Presence: who is in a vault's room right now, one entry per user however many sockets.

``Presence`` keeps, per instance, which of its sockets joined which vault as which user. A
user's first socket here adds the user to the ``Store``; their last socket here leaving
(``vault:leave``, a disconnect, an eviction) takes them out. The store answers whether that
made the user present, or absent, *anywhere*: only then does the vault's room get
``presence:joined`` or ``presence:left`` ``{vaultId, userId, userName}``.

    Entry = {userId, userName, role, since}

Two stores behind one interface:

* ``LocalStore``, one instance: a dict.
* ``RedisStore``, several: a hash per vault with one field per (user, instance), changed by
  Lua scripts so each answer is atomic. Each instance renews a liveness key that expires
  after ``presence_ttl`` seconds and, every third of it, looks for instances whose key has
  expired (killed, frozen) and sweeps their fields, announcing ``presence:left`` for each user
  present nowhere else; a script returns a user to one sweeper only. An instance whose own key
  had expired (it froze, or Redis lost its data), or whose store calls failed, reconciles at
  its next renewal: the store then holds exactly its users, and the differences are announced.

Presence is ephemeral: it is not in the event log and never in a join's catch-up. A revoked
user's sockets, and those of every member of a deleted vault, leave through the transport's
notice listener (``Transport.on_notice``); an expired or logged-out session's sockets are
disconnected, which is a leave too. A role change reaches the entries through the same
listener. A failing Redis never fails a join: presence then shows this instance's users, and
is reconciled once Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar

from sourcevault.db.base import iso, utcnow
from sourcevault.events import NoticeType, vault_room

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
T = TypeVar("T")

PRESENCE_JOINED = "presence:joined"
PRESENCE_LEFT = "presence:left"


class Entry(TypedDict):
    userId: str
    userName: str
    role: str
    since: str


# (event, data, room): how presence reaches a vault's room, on every instance.
Emit = Callable[[str, dict[str, str], str], Awaitable[None]]


class Store(Protocol):
    """Where the users present in each vault are kept; ``add`` and ``remove`` are for this
    instance's share of a user, and answer for the user as a whole."""

    def bind(self, presence: Presence) -> None:
        """The presence this store serves (its local entries, its announcements)."""

    async def add(self, vault_id: str, entry: Entry) -> bool:
        """This instance has the user in the vault; True when they were present nowhere."""

    async def remove(self, vault_id: str, user_id: str) -> Entry | None:
        """This instance no longer has the user; their entry when now present nowhere."""

    async def update(self, vault_id: str, entry: Entry) -> None:
        """Replace this instance's entry of the user (a new role), if it has one."""

    async def list(self, vault_id: str) -> list[Entry]:
        """Every user present in the vault, one entry each."""

    async def start(self) -> None: ...

    async def aclose(self) -> None:
        """Take this instance's users out, announcing those now present nowhere."""


class Presence:
    """This instance's sockets in each vault, and the announcements they make."""

    def __init__(self, store: Store, emit: Emit) -> None:
        self.store = store
        self._emit = emit
        # (vault, user): the sids here; one sid alone, a set for more (a set costs 216 bytes,
        # paid per joined connection where most users have one tab).
        self._sockets: dict[tuple[str, str], str | set[str]] = {}
        self._entries: dict[tuple[str, str], Entry] = {}  # (vault, user): the entry here
        # sid: the (vault, user) keys it joined, the very tuples of ``_sockets`` (a list of
        # shared keys, not a dict per socket: this too is paid per joined connection).
        self._joined: dict[str, list[tuple[str, str]]] = {}
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}
        self.closed = False
        # A store call failed: the store may hold too much or too little of this instance's
        # users until ``reconcile`` has run.
        self.unsure = False
        store.bind(self)

    async def start(self) -> None:
        await self.store.start()

    async def aclose(self) -> None:
        self.closed = True
        await self._guard(self.store.aclose(), None)

    # -- sockets -----------------------------------------------------------------------------

    async def join(
        self, sid: str, user_id: str, user_name: str, vault_id: str, role: str
    ) -> list[Entry]:
        """The socket joined the vault; the vault's presence, the user's own included."""
        keys = self._joined.setdefault(sid, [])
        if _find(keys, vault_id) is None and not self.closed:
            key = (vault_id, user_id)
            keys.append(key)
            async with self._serial(key):
                sockets = self._sockets.get(key)
                if isinstance(sockets, set):
                    sockets.add(sid)
                elif sockets is not None:
                    self._sockets[key] = {sockets, sid}
                else:
                    self._sockets[key] = sid
                    entry = Entry(userId=user_id, userName=user_name, role=role, since=_now())
                    self._entries[key] = entry
                    if await self._guard(self.store.add(vault_id, entry), False):
                        await self._announce(PRESENCE_JOINED, vault_id, entry)
        return await self.listing(vault_id)

    async def leave(self, sid: str, vault_id: str) -> None:
        keys = self._joined.get(sid)
        key = None if keys is None else _find(keys, vault_id)
        if keys is None or key is None:
            return
        keys.remove(key)
        if not keys:
            del self._joined[sid]
        await self._left(sid, *key)

    async def disconnected(self, sid: str) -> None:
        for key in self._joined.pop(sid, None) or ():
            await self._left(sid, *key)

    async def on_notice(self, event: str, data: Any, sids: list[str]) -> None:
        """The transport's notice listener: a revocation is a leave; a new role is kept."""
        vault_id = data.get("vaultId") if isinstance(data, dict) else None
        if not isinstance(vault_id, str):
            return
        if event == NoticeType.ACCESS_REVOKED:
            for sid in sids:
                await self.leave(sid, vault_id)
        elif event == NoticeType.ROLE_CHANGED:
            for sid in sids:
                key = _find(self._joined.get(sid, ()), vault_id)
                entry = None if key is None else self._entries.get(key)
                if entry is not None and entry["role"] != data.get("role"):
                    entry = Entry(**{**entry, "role": str(data.get("role"))})
                    self._entries[(vault_id, entry["userId"])] = entry
                    await self._guard(self.store.update(vault_id, entry), None)

    async def listing(self, vault_id: str) -> list[Entry]:
        """The vault's presence, by arrival; this instance's alone while the store fails."""
        entries = await self._guard(self.store.list(vault_id), None)
        if entries is None:
            entries = [e for (v, _u), e in self._entries.items() if v == vault_id]
        return sorted(entries, key=lambda e: (e["since"], e["userId"]))

    def local_entries(self) -> Iterable[tuple[str, Entry]]:
        """(vault, entry) for each user with a socket here."""
        return [(vault_id, entry) for (vault_id, _user), entry in list(self._entries.items())]

    async def announce(self, event: str, vault_id: str, entry: Entry) -> None:
        await self._announce(event, vault_id, entry)

    async def reconcile(self, stored: Iterable[tuple[str, str]]) -> None:
        """Make the store hold exactly this instance's users, after it failed or lost them:
        ``stored`` is the (vault, user) pairs it holds for this instance. Each change is
        announced as usual; a store error propagates, and leaves ``unsure`` set."""
        self.unsure = False
        try:
            for key in stored:
                async with self._serial(key):
                    if key not in self._sockets:
                        gone = await self.store.remove(*key)
                        if gone is not None:
                            await self._announce(PRESENCE_LEFT, key[0], gone)
            for key in list(self._entries):
                async with self._serial(key):
                    entry = self._entries.get(key)
                    if entry is not None and await self.store.add(key[0], entry):
                        await self._announce(PRESENCE_JOINED, key[0], entry)
        except BaseException:
            self.unsure = True
            raise

    # -- inside ------------------------------------------------------------------------------

    async def _left(self, sid: str, vault_id: str, user_id: str) -> None:
        key = (vault_id, user_id)
        async with self._serial(key):
            sockets = self._sockets.get(key)
            if isinstance(sockets, set) and sid in sockets:
                sockets.discard(sid)
                if len(sockets) == 1:
                    self._sockets[key] = next(iter(sockets))
                return
            if sockets != sid:
                return
            del self._sockets[key]
            self._entries.pop(key, None)
            if self.closed:
                return
            gone = await self._guard(self.store.remove(vault_id, user_id), None)
            if gone is not None:
                await self._announce(PRESENCE_LEFT, vault_id, gone)

    async def _announce(self, event: str, vault_id: str, entry: Entry) -> None:
        data = {"vaultId": vault_id, "userId": entry["userId"], "userName": entry["userName"]}
        try:
            await self._emit(event, data, vault_room(vault_id))
        except Exception:
            log.exception("could not announce %s", event)

    @contextlib.asynccontextmanager
    async def _serial(self, key: tuple[str, str]) -> AsyncIterator[None]:
        """One change at a time per (vault, user) here, so the store sees them in order."""
        lock, users = self._locks.get(key) or self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]

    async def _guard(self, call: Coroutine[Any, Any, T], fallback: T) -> T:
        try:
            return await call
        except Exception as exc:
            log.warning("presence store failed (%s: %s)", type(exc).__name__, exc)
            self.unsure = True
            return fallback


def _find(keys: Iterable[tuple[str, str]], vault_id: str) -> tuple[str, str] | None:
    """The (vault, user) key of ``vault_id`` among a socket's keys."""
    for key in keys:
        if key[0] == vault_id:
            return key
    return None


def _now() -> str:
    return iso(utcnow())


class LocalStore:
    """One instance: the users present, in memory."""

    def __init__(self) -> None:
        self.vaults: dict[str, dict[str, Entry]] = {}

    def bind(self, presence: Presence) -> None:
        return None

    async def add(self, vault_id: str, entry: Entry) -> bool:
        users = self.vaults.setdefault(vault_id, {})
        new = entry["userId"] not in users
        users[entry["userId"]] = entry
        return new

    async def remove(self, vault_id: str, user_id: str) -> Entry | None:
        users = self.vaults.get(vault_id, {})
        entry = users.pop(user_id, None)
        if not users:
            self.vaults.pop(vault_id, None)
        return entry

    async def update(self, vault_id: str, entry: Entry) -> None:
        users = self.vaults.get(vault_id, {})
        if entry["userId"] in users:
            users[entry["userId"]] = entry

    async def list(self, vault_id: str) -> list[Entry]:
        return list(self.vaults.get(vault_id, {}).values())

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self.vaults.clear()


# A vault's hash has one field per (user, instance), "user|instance", valued the entry (JSON).
# Ids are hex, so "|" parts them.
_ADD = """
local prefix = ARGV[1] .. '|'
local before = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #prefix) == prefix then before = 1; break end
end
redis.call('HSET', KEYS[1], prefix .. ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[2])
return 1 - before
"""

_REMOVE = """
local prefix = ARGV[1] .. '|'
local suffix = '|' .. ARGV[2]
local value = redis.call('HGET', KEYS[1], prefix .. ARGV[2])
if not value then return false end
redis.call('HDEL', KEYS[1], prefix .. ARGV[2])
local others, mine = false, false
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #prefix) == prefix then others = true end
  if string.sub(f, -#suffix) == suffix then mine = true end
end
if not mine then redis.call('SREM', KEYS[2], ARGV[3]) end
if others then return false end
return value
"""

_UPDATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""

# Takes every field of one instance out of a vault; returns the entries of the users who are
# then present nowhere.
_SWEEP = """
local suffix = '|' .. ARGV[1]
local all = redis.call('HGETALL', KEYS[1])
local removed = {}
for i = 1, #all, 2 do
  if string.sub(all[i], -#suffix) == suffix then
    redis.call('HDEL', KEYS[1], all[i])
    removed[#removed + 1] = {string.sub(all[i], 1, #all[i] - #suffix), all[i + 1]}
  end
end
local gone = {}
for _, r in ipairs(removed) do
  local prefix = r[1] .. '|'
  local still = false
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, #prefix) == prefix then still = true; break end
  end
  if not still then gone[#gone + 1] = r[2] end
end
return gone
"""


class RedisStore:
    """Several instances: the users present, in Redis, with a liveness key per instance."""

    def __init__(self, url: str, namespace: str, ttl: float) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.instance = uuid.uuid4().hex
        self.ttl = ttl
        self.prefix = f"{namespace}:presence"
        self.redis: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
        )
        self._add = self.redis.register_script(_ADD)
        self._remove = self.redis.register_script(_REMOVE)
        self._update = self.redis.register_script(_UPDATE)
        self._sweep = self.redis.register_script(_SWEEP)
        self._presence: Presence | None = None
        self._beating: asyncio.Task[None] | None = None
        self._was_alive = False

    def bind(self, presence: Presence) -> None:
        self._presence = presence

    def _vault(self, vault_id: str) -> str:
        return f"{self.prefix}:vault:{vault_id}"

    def _alive(self, instance: str) -> str:
        return f"{self.prefix}:alive:{instance}"

    def _vaults_of(self, instance: str) -> str:
        return f"{self.prefix}:vaults:{instance}"

    @property
    def _instances(self) -> str:
        return f"{self.prefix}:instances"

    async def add(self, vault_id: str, entry: Entry) -> bool:
        keys = [self._vault(vault_id), self._vaults_of(self.instance), self._instances]
        args = [entry["userId"], self.instance, json.dumps(entry), vault_id]
        return bool(await self._add(keys=keys, args=args))

    async def remove(self, vault_id: str, user_id: str) -> Entry | None:
        keys = [self._vault(vault_id), self._vaults_of(self.instance)]
        value = await self._remove(keys=keys, args=[user_id, self.instance, vault_id])
        return None if value is None else _entry(value)

    async def update(self, vault_id: str, entry: Entry) -> None:
        field = f"{entry['userId']}|{self.instance}"
        await self._update(keys=[self._vault(vault_id)], args=[field, json.dumps(entry)])

    async def list(self, vault_id: str) -> list[Entry]:
        fields = await self.redis.hgetall(self._vault(vault_id))
        rows = [(*_str(name).rpartition("|")[::2], _str(value)) for name, value in fields.items()]
        instances = sorted({instance for _user, instance, _value in rows})
        alive = await self.redis.mget([self._alive(i) for i in instances]) if instances else []
        live = {i for i, key in zip(instances, alive, strict=True) if key is not None}
        users: dict[str, Entry] = {}
        for user_id, instance, value in rows:
            if instance not in live:
                continue  # killed: its fields go at the next sweep
            entry = _entry(value)
            known = users.get(user_id)
            if known is None or entry["since"] < known["since"]:
                users[user_id] = entry
        return list(users.values())

    # -- liveness ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.beat()
        self._beating = asyncio.ensure_future(self._beat_forever())

    async def aclose(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
        try:
            await self._sweep_instance(self.instance)
            await self.redis.delete(self._alive(self.instance))
        finally:
            await self.redis.aclose()

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("presence heartbeat failed (%s: %s)", type(exc).__name__, exc)

    async def beat(self) -> None:
        """Renew this instance's key, add its users back if the key had expired, and sweep
        the instances whose key has."""
        previous = await self.redis.set(
            self._alive(self.instance), "1", px=int(self.ttl * 1000), get=True
        )
        await self.redis.sadd(self._instances, self.instance)
        assert self._presence is not None
        if previous is None and self._was_alive:
            log.warning("this instance's presence had expired; adding its users back")
            self._presence.unsure = True
        self._was_alive = True
        if self._presence.unsure:
            await self._presence.reconcile(await self._own())
        members = await self.redis.smembers(self._instances)
        instances = [_str(i) for i in members if _str(i) != self.instance]
        if not instances:
            return
        alive = await self.redis.mget([self._alive(i) for i in instances])
        for instance, key in zip(instances, alive, strict=True):
            if key is None:
                await self._sweep_instance(instance)

    async def _own(self) -> Iterable[tuple[str, str]]:
        """The (vault, user) pairs the store holds for this instance."""
        pairs = []
        for member in await self.redis.smembers(self._vaults_of(self.instance)):
            vault_id = _str(member)
            for name in await self.redis.hkeys(self._vault(vault_id)):
                user_id, _, instance = _str(name).rpartition("|")
                if instance == self.instance:
                    pairs.append((vault_id, user_id))
        return pairs

    async def _sweep_instance(self, instance: str) -> None:
        """Take a stopped instance's users out of every vault it had them in."""
        for member in await self.redis.smembers(self._vaults_of(instance)):
            vault_id = _str(member)
            for value in await self._sweep(keys=[self._vault(vault_id)], args=[instance]):
                if self._presence is not None:
                    await self._presence.announce(PRESENCE_LEFT, vault_id, _entry(value))
        await self.redis.delete(self._vaults_of(instance))
        await self.redis.srem(self._instances, instance)


def _str(value: str | bytes) -> str:
    """The client decodes replies; its types do not say so."""
    return value if isinstance(value, str) else value.decode()


def _entry(value: str) -> Entry:
    data = json.loads(value)
    return Entry(
        userId=data["userId"], userName=data["userName"], role=data["role"], since=data["since"]
    )
