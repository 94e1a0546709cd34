/*
 * Following vaults without losing an event: the one client module that the app (/) and the
 * test page (/realtime-test) both import. It owns the socket, the REST calls and each followed
 * vault's state; the pages only draw what it reports through the `on` hooks.
 *
 * The rules are those of the Python client (sourcevault.client):
 * - the first load of a vault reads its sources over REST and joins with `after` = the `seq`
 *   read with them;
 * - on every connect each followed vault is rejoined with `after` = the last applied `seq`, and
 *   `missed` is applied, paging GET /api/vaults/{id}/events while `hasMore`;
 * - a live event whose `seq` skips ahead makes the client fetch the gap first; an event at or
 *   below the last applied `seq` is ignored, so nothing is applied twice;
 * - `sources:imported` names the new sources without carrying them: the vault's sources are
 *   read again, and the events after it settle the rest as usual;
 * - who is in a vault (`vault.presence`, userId -> {userId, userName, role, since}) is the join
 *   ack's list, then `presence:joined` / `presence:left`; it is not in the event log, and each
 *   rejoin replaces it;
 * - socket.io-client reconnects with backoff from 500 ms, doubling, capped at 2 s, with 50 %
 *   jitter; on `session:expired`, or a reconnect refused with UNAUTHORIZED, it stops.
 * Everything that reads or changes a vault's state runs through one queue (`run`), in order.
 */

export const EVENT_TYPES = new Set([
  "source:created", "source:updated", "source:deleted", "vault:updated", "vault:deleted",
  "member:added", "member:updated", "member:removed", "sources:imported",
]);
const EVENT_PAGE = 500;
const SOURCE_PAGE = 100;
const ACK_TIMEOUT = 10000;

export class ApiError extends Error {
  constructor(code, message, status, details) {
    super(message || code);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** The socket dropped (or never answered): the next connect will redo what was cut short. */
export class Dropped extends Error {}

/** One REST call with the session cookie (a JSON body, or a file as it is); an error answer
 * becomes an ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    init.headers["Content-Type"] = "application/octet-stream"; // a file, sent as it is
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("UNREACHABLE", "The server cannot be reached");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || { code: `HTTP_${response.status}`, message: response.statusText };
    throw new ApiError(error.code, error.message, response.status, error.details);
  }
  return data;
}

export const vaultPath = (id) => `/api/vaults/${encodeURIComponent(id)}`;
export const sourcePath = (id) => `/api/sources/${encodeURIComponent(id)}`;

const noop = () => {};

export class Follower {
  /**
   * @param io the socket.io-client `io` function
   * @param on hooks, each optional: conn(status, text), connected(again), log(text),
   *   event(vault, event, live), changed(vault), progress(vault) (a page of a long vault's
 *   sources arrived, more to come), joined(vault, caughtUp), gone(vault, why),
   *   ended(reason), roleChanged(vaultId, role, vault), revoked(vaultId, reason, vault)
   */
  constructor(io, on = {}) {
    this.io = io;
    this.on = new Proxy(on, { get: (hooks, name) => hooks[name] || noop });
    this.socket = null;
    this.stopped = null; // why it stopped reconnecting
    this.loggingOut = false;
    this.vaults = new Map(); // followed: id -> {id, name, role, seq, sources: Map, loaded, gone}
    this.attempts = 0;
    this.reconnects = 0;
    this.duplicates = 0;
    this.tail = Promise.resolve();
  }

  /** Queue a step after every step before it. */
  run(step) {
    this.tail = this.tail.then(step).catch((err) => {
      if (!(err instanceof Dropped)) console.error(err);
    });
    return this.tail;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  async ask(event, payload) {
    const socket = this.socket;
    if (!socket || !socket.connected) throw new Dropped("not connected");
    try {
      return await socket.timeout(ACK_TIMEOUT).emitWithAck(event, payload);
    } catch {
      throw new Dropped("no answer");
    }
  }

  /** A mutation over the socket: the ack's fields, or an ApiError as REST would throw. */
  async send(event, payload) {
    let ack;
    try {
      ack = await this.ask(event, payload);
    } catch {
      throw new ApiError("DISCONNECTED", "Not connected to the server");
    }
    if (!ack.ok) throw new ApiError(ack.error.code, ack.error.message, undefined, ack.error.details);
    return ack;
  }

  // -- the socket ------------------------------------------------------------------------
  connect() {
    if (typeof this.io !== "function") return;
    this.stopped = null;
    this.loggingOut = false;
    const socket = this.io({
      path: "/socket.io",
      withCredentials: true,
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    this.on.conn("connecting", "connecting…");

    socket.on("connect", () => {
      const again = Boolean(this.reconnects || this.attempts);
      this.on.conn("connected", "connected");
      this.on.log(again ? "reconnected" : "connected");
      this.on.connected(again);
      this.run(() => this.rejoinAll());
    });
    socket.on("disconnect", (reason) => {
      if (this.socket !== socket) return;
      this.on.conn("disconnected", `disconnected (${reason})`);
      this.on.log(`disconnected: ${reason}`);
      // A server-side disconnect is not retried by socket.io-client; unless the session
      // ended (session:expired came first), try again like any other drop.
      if (reason === "io server disconnect" && !this.stopped) socket.connect();
    });
    socket.on("connect_error", (err) => {
      if (this.socket !== socket) return;
      if (err.message === "UNAUTHORIZED") {
        this.end("unauthorized");
      } else if (!socket.active) {
        this.on.conn("disconnected", `refused: ${err.message}`);
      }
    });
    socket.io.on("reconnect_attempt", (attempt) => {
      this.attempts += 1;
      this.on.conn("reconnecting", `reconnecting (attempt ${attempt})`);
    });
    socket.io.on("reconnect", () => {
      this.reconnects += 1;
    });
    socket.on("session:expired", (data) => {
      if (this.loggingOut) return;
      this.end((data && data.reason) || "expired");
    });
    socket.onAny((name, data) => {
      if (name !== "session:expired") this.run(() => this.onServerEvent(socket, name, data));
    });
  }

  /** The session is over: stop reconnecting and forget every vault. */
  end(reason) {
    this.stopped = reason || "logged_out";
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.off();
      socket.io.off();
      socket.disconnect();
    }
    this.vaults.clear();
    this.on.conn("stopped", reason ? `stopped: ${reason.replace("_", " ")}` : "offline");
    if (reason) this.on.log(`stopped: ${reason}`);
    this.on.ended(reason);
  }

  async logout() {
    this.loggingOut = true;
    try {
      await api("POST", "/api/auth/logout");
    } catch {
      // the session may already be gone; log out here either way
    }
    this.end(null);
  }

  async rejoinAll() {
    for (const vault of [...this.vaults.values()]) {
      if (!vault.loaded) continue;
      try {
        await this.socketJoin(vault);
      } catch (err) {
        // Dropped: the next connect rejoins every vault. Joined but the catch-up failed: the
        // next live event's gap, or the next connect, completes it; the others still join.
        if (!(err instanceof Dropped) || !this.connected) throw err;
      }
    }
  }

  /** Rooms do not survive a reconnection: a vault is joined once per connection (socket.id
   * changes with each one). */
  joinedNow(vault) {
    return this.connected && vault.joinedOn === this.socket.id;
  }

  async onServerEvent(socket, name, data) {
    if (this.socket !== socket || !data || typeof data !== "object") return;
    const vault = this.vaults.get(data.vaultId);
    if (EVENT_TYPES.has(name)) {
      if (vault) await this.apply(vault, data, true);
    } else if (name === "vault:access-revoked") {
      if (vault) {
        this.gone(vault, data.reason === "vault_deleted"
          ? "This vault was deleted." : "You were removed from this vault.");
      }
      await this.on.revoked(data.vaultId, data.reason, vault);
    } else if (name === "presence:joined" || name === "presence:left") {
      if (vault) {
        notePresence(vault, name, data);
        this.on.changed(vault);
      }
    } else if (name === "vault:role-changed") {
      if (vault) {
        vault.role = data.role;
        this.on.changed(vault);
      }
      await this.on.roleChanged(data.vaultId, data.role, vault);
    }
  }

  // -- vaults ----------------------------------------------------------------------------
  /** Follow a vault: load its sources, then join its room. Returns the vault, or null when it
   * could not be loaded (the error is thrown). `extra` fields are kept on the vault object. */
  async follow(info, extra = {}) {
    if (this.vaults.has(info.id)) return this.vaults.get(info.id);
    const vault = {
      ...extra, id: info.id, name: info.name, role: info.role, seq: 0, sources: new Sources(),
      loaded: false, gone: null, joinedOn: null, presence: new Map(),
    };
    this.vaults.set(info.id, vault);
    this.on.changed(vault);
    try {
      await this.loadSnapshot(vault);
    } catch (err) {
      if (this.vaults.get(info.id) === vault) this.vaults.delete(info.id);
      throw err;
    }
    this.on.changed(vault);
    // Not connected now: the connect handler joins every loaded vault.
    if (this.connected) await this.socketJoin(vault).catch(() => {});
    return vault;
  }

  async unfollow(id) {
    const vault = this.vaults.get(id);
    if (!vault) return;
    this.vaults.delete(id);
    if (this.connected) await this.ask("vault:leave", { vaultId: id }).catch(() => {});
  }

  /** Every source, and the seq of the first page: later pages are as new or newer, and
   * replaying the events after that seq (full objects, in order) settles both. */
  async loadSnapshot(vault) {
    vault.sources = new Sources(); // filled page by page, so a long vault can be drawn as it comes
    vault.seq = await this.readSources(vault, vault.sources, () => this.on.progress(vault));
    vault.loaded = true;
  }

  /** Read every source of the vault into `sources`; the seq of the first page. */
  async readSources(vault, sources, progress) {
    let cursor = null;
    let seq = null;
    do {
      const query = `limit=${SOURCE_PAGE}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
      const page = await api("GET", `${vaultPath(vault.id)}/sources?${query}`);
      if (seq === null) seq = page.seq;
      for (const source of page.sources) sources.set(source.id, source);
      cursor = page.nextCursor;
      if (cursor && progress) progress();
    } while (cursor);
    return seq;
  }

  async socketJoin(vault) {
    if (this.joinedNow(vault)) return;
    const connection = this.socket && this.socket.id;
    const ack = await this.ask("vault:join", { vaultId: vault.id, after: vault.seq });
    if (this.vaults.get(vault.id) !== vault) return;
    if (!ack.ok) {
      this.gone(vault, `Cannot follow this vault any more: ${ack.error.message}`);
      return;
    }
    vault.role = ack.role;
    vault.joinedOn = connection;
    vault.presence = new Map((ack.presence || []).map((entry) => [entry.userId, entry]));
    const count = await this.catchUp(vault, ack.missed || [], ack.hasMore);
    this.on.log(`joined ${vault.name} as ${vault.role} at seq ${vault.seq}` + (count ? `, caught up ${count}` : ""));
    this.on.joined(vault, count);
    this.on.changed(vault);
  }

  async catchUp(vault, missed, hasMore) {
    let count = 0;
    for (const event of missed) count += await this.apply(vault, event, false);
    if (hasMore) count += await this.fetchEvents(vault, null);
    return count;
  }

  /** Apply one event in seq order; a gap before it is fetched first. Returns how many
   * events were applied. */
  async apply(vault, event, live) {
    if (this.vaults.get(vault.id) !== vault || !vault.loaded || typeof event.seq !== "number") return 0;
    if (event.seq <= vault.seq) {
      this.duplicates += 1;
      return 0;
    }
    let count = 0;
    if (event.seq > vault.seq + 1) {
      count += await this.fetchEvents(vault, event.seq - 1);
      if (event.seq <= vault.seq || event.seq > vault.seq + 1) return count;
      if (this.vaults.get(vault.id) !== vault) return count;
    }
    const kind = event.type;
    if (kind === "sources:imported") {
      const fresh = new Sources();
      try {
        await this.readSources(vault, fresh, null);
      } catch (err) {
        if (err.status === 404) this.gone(vault, "This vault is no longer available.");
        throw new Dropped(err.message); // the next event or the next rejoin will retry
      }
      if (this.vaults.get(vault.id) !== vault) return count;
      vault.sources = fresh;
    } else if (kind === "source:created" || kind === "source:updated") {
      vault.sources.set(event.source.id, event.source);
    } else if (kind === "source:deleted") {
      vault.sources.delete(event.source.id);
    } else if (kind === "member:updated" && vault.presence && vault.presence.has(event.member.userId)) {
      vault.presence.set(event.member.userId, { ...vault.presence.get(event.member.userId), role: event.member.role });
    } else if (kind === "vault:updated") {
      vault.name = event.vault.name;
      vault.description = event.vault.description;
    }
    vault.seq = event.seq;
    this.on.event(vault, event, live);
    this.on.changed(vault);
    if (kind === "vault:deleted") {
      this.gone(vault, `This vault was deleted by ${event.actor.userName} (${event.actor.role}).`);
    }
    return count + 1;
  }

  /** Page the event log after vault.seq, up to `until` (or to its end). */
  async fetchEvents(vault, until) {
    let count = 0;
    while (until === null || vault.seq < until) {
      let page;
      try {
        page = await api("GET", `${vaultPath(vault.id)}/events?after=${vault.seq}&limit=${EVENT_PAGE}`);
      } catch (err) {
        if (err.status === 404) this.gone(vault, "This vault is no longer available.");
        throw new Dropped(err.message); // the next event or the next rejoin will retry
      }
      for (const event of page.events) count += await this.apply(vault, event, false);
      if (!page.hasMore || !page.events.length) break;
    }
    return count;
  }

  gone(vault, why) {
    if (vault.gone) return;
    vault.gone = why;
    if (this.vaults.get(vault.id) === vault) this.vaults.delete(vault.id);
    this.on.log(`${vault.name}: ${why}`);
    this.on.gone(vault, why);
    this.on.changed(vault);
  }
}

/** A presence event on the vault's list; the role of a newcomer is looked up by the page. */
function notePresence(vault, name, data) {
  if (name === "presence:left") {
    vault.presence.delete(data.userId);
  } else if (!vault.presence.has(data.userId)) {
    vault.presence.set(data.userId, { userId: data.userId, userName: data.userName, role: null, since: null });
  }
}

/** Newest first, as the server lists them. */
export function newestFirst(a, b) {
  if (a.createdAt === b.createdAt) return a.id < b.id ? 1 : -1;
  return a.createdAt < b.createdAt ? 1 : -1;
}

/** Whether `a` is strictly ahead of `b` newest first (the order of newestFirst). */
function comesBefore(a, b) {
  return a.createdAt === b.createdAt ? a.id > b.id : a.createdAt > b.createdAt;
}

/** A vault's sources by id (a Map), also kept in a list newest first as they are set and
 * deleted, so a page can draw them in order without sorting them again. `version` counts the
 * changes, for a view that keeps what it derives from the list. */
export class Sources extends Map {
  constructor() {
    super();
    this.list = [];
    this.version = 0;
  }

  set(id, source) {
    const old = super.get(id);
    super.set(id, source);
    if (!this.list) return this; // Map's own constructor, before the fields exist
    this.version += 1;
    if (old && old.createdAt === source.createdAt) {
      this.list[this.place(old)] = source;
    } else {
      if (old) this.list.splice(this.place(old), 1);
      this.list.splice(this.place(source), 0, source);
    }
    return this;
  }

  delete(id) {
    const old = super.get(id);
    if (!old) return false;
    super.delete(id);
    this.list.splice(this.place(old), 1);
    this.version += 1;
    return true;
  }

  clear() {
    super.clear();
    this.list = [];
    this.version += 1;
  }

  /** Where `source` is or would go in the list (a binary search; a server page, already in
   * order, is appended at the end). */
  place(source) {
    const list = this.list;
    const n = list.length;
    if (n === 0 || comesBefore(list[n - 1], source)) return n;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comesBefore(list[mid], source)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
