/*
 * The multi-client test page. No framework: state in plain objects, the DOM built with
 * textContent (never innerHTML with data).
 *
 * Nothing is lost across drops, by the same rules as the Python client (sourcevault.client):
 * - the first load of a vault reads its sources over REST and joins with `after` = the `seq`
 *   read with them;
 * - on every connect each joined vault is rejoined with `after` = the last applied `seq`, and
 *   `missed` is applied, paging GET /api/vaults/{id}/events while `hasMore`;
 * - a live event whose `seq` skips ahead makes the page fetch the gap first; an event at or
 *   below the last applied `seq` is ignored, so nothing is applied twice;
 * - `sources:imported` names the new sources without carrying them: the page reads the
 *   vault's sources again, and the events after it settle the rest as usual;
 * - socket.io-client reconnects with backoff from 500 ms capped at 2 s, with jitter; on
 *   `session:expired`, or a reconnect refused with UNAUTHORIZED, the page stops and asks the
 *   person to log in again.
 * Everything that reads or changes a vault's state runs through one queue, in order.
 */
"use strict";

(() => {
  const EVENT_TYPES = new Set([
    "source:created", "source:updated", "source:deleted", "vault:updated", "vault:deleted",
    "member:added", "member:updated", "member:removed", "sources:imported",
  ]);
  const EVENT_PAGE = 500;
  const SOURCE_PAGE = 100;
  const ACK_TIMEOUT = 10000;
  const LOG_ROWS = 1000;

  const $ = (selector, root = document) => root.querySelector(selector);
  const state = {
    user: null,
    socket: null,
    stopped: null, // why the page stopped reconnecting
    loggingOut: false,
    myVaults: [], // from GET /api/vaults
    vaults: new Map(), // joined: id -> {id, name, role, seq, sources: Map, card, joined, gone}
    attempts: 0,
    reconnects: 0,
    duplicates: 0,
  };

  // -- one queue for everything that touches vault state ---------------------------------
  let tail = Promise.resolve();
  function run(step) {
    tail = tail.then(step).catch((err) => {
      if (!(err instanceof Dropped)) console.error(err);
    });
    return tail;
  }

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message || code);
      this.code = code;
      this.status = status;
    }
  }
  class Dropped extends Error {}

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
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
      throw new ApiError(error.code, error.message, response.status);
    }
    return data;
  }

  async function ask(event, payload) {
    const socket = state.socket;
    if (!socket || !socket.connected) throw new Dropped("not connected");
    try {
      return await socket.timeout(ACK_TIMEOUT).emitWithAck(event, payload);
    } catch {
      throw new Dropped("no answer");
    }
  }

  // -- connection state, always visible ----------------------------------------------------
  function setConn(status, text) {
    const el = $("#conn");
    el.dataset.state = status;
    el.textContent = text || status;
    $("#reconnects").textContent =
      `reconnect attempts: ${state.attempts}` + (state.reconnects ? ` · reconnected: ${state.reconnects}` : "");
  }

  function notice(text) {
    const el = $("#notice");
    el.textContent = text || "";
    el.hidden = !text;
  }

  // -- the event log ---------------------------------------------------------------------
  function timeOf(date) {
    return date.toTimeString().slice(0, 8) + "." + String(date.getMilliseconds()).padStart(3, "0");
  }

  function logRow(cells, kind) {
    const tr = document.createElement("tr");
    tr.className = kind;
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.append(td);
    }
    const body = $("#log");
    body.prepend(tr);
    while (body.rows.length > LOG_ROWS) body.deleteRow(-1);
  }

  function logEvent(vault, event, live) {
    const delay = Date.now() - Date.parse(event.at);
    const actor = event.actor ? `${event.actor.userName} (${event.actor.role})` : "";
    logRow(
      [timeOf(new Date()), vault.name, event.type, actor, String(event.seq),
        live ? `${delay} ms` : `caught up (${(delay / 1000).toFixed(1)} s)`],
      live ? "live" : "caught-up",
    );
  }

  function logSystem(text) {
    logRow([timeOf(new Date()), "", text, "", "", ""], "system");
  }

  // -- logging in and out ----------------------------------------------------------------
  async function boot() {
    if (typeof io !== "function") {
      notice("The socket.io-client script did not load: install the npm packages on the server " +
        "(npm ci, or make install) and reload.");
    }
    $("#login-form").addEventListener("submit", onLogin);
    $("#logout").addEventListener("click", onLogout);
    $("#new-vault").addEventListener("submit", onNewVault);
    $("#refresh-vaults").addEventListener("click", () => run(refreshVaults));
    loadDemoLogins();
    try {
      const session = await api("GET", "/api/auth/session");
      loggedIn(session.user);
    } catch {
      showLogin();
    }
  }

  async function loadDemoLogins() {
    let body;
    try {
      body = await api("GET", "/realtime-test/demo-logins");
    } catch {
      return; // not a --demo server
    }
    const list = $("#demo-list");
    list.replaceChildren();
    for (const login of body.logins) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Log in as ${login.role}`;
      button.addEventListener("click", () => {
        $("#login-form").email.value = login.email;
        $("#login-form").password.value = login.password;
        $("#login-form").requestSubmit();
      });
      const code = document.createElement("code");
      code.textContent = `${login.email} / ${login.password}`;
      li.append(button, " ", code);
      list.append(li);
    }
    $("#demo").hidden = false;
  }

  function showLogin(message) {
    $("#app").hidden = true;
    $("#login-panel").hidden = false;
    $("#logout").hidden = true;
    $("#who").textContent = "";
    if (message) notice(message);
    $("#login-form").email.focus();
  }

  async function onLogin(submit) {
    submit.preventDefault();
    const form = submit.target;
    $("#login-error").textContent = "";
    try {
      const session = await api("POST", "/api/auth/login", {
        email: form.email.value,
        password: form.password.value,
      });
      form.password.value = "";
      notice("");
      loggedIn(session.user);
    } catch (err) {
      $("#login-error").textContent = err.message;
    }
  }

  async function onLogout() {
    state.loggingOut = true;
    try {
      await api("POST", "/api/auth/logout");
    } catch {
      // the session may already be gone; the page logs out either way
    }
    endSession(null);
  }

  function loggedIn(user) {
    state.user = user;
    state.stopped = null;
    state.loggingOut = false;
    $("#login-panel").hidden = true;
    $("#app").hidden = false;
    $("#logout").hidden = false;
    $("#who").textContent = `${user.name} <${user.email}>`;
    connect();
    run(async () => {
      await refreshVaults();
      const wanted = new URLSearchParams(location.search).get("vault");
      if (wanted && state.myVaults.some((v) => v.id === wanted)) await joinVault(wanted);
    });
  }

  /** The session is over: stop reconnecting, forget the vaults, ask for a login. */
  function endSession(reason) {
    state.stopped = reason || "logged_out";
    const socket = state.socket;
    state.socket = null;
    if (socket) {
      socket.off();
      socket.io.off();
      socket.disconnect();
    }
    for (const vault of state.vaults.values()) vault.card.remove();
    state.vaults.clear();
    state.myVaults = [];
    $("#vault-list").replaceChildren();
    updateNoJoined();
    setConn("stopped", reason ? `stopped: ${reason.replace("_", " ")}` : "offline");
    const messages = {
      expired: "Your session has expired. Please log in again.",
      logged_out: "You were logged out (from another window). Please log in again.",
      unauthorized: "The server no longer accepts this session. Please log in again.",
    };
    if (reason) logSystem(`stopped: ${reason}`);
    showLogin(reason ? messages[reason] || "Please log in again." : "");
  }

  // -- the socket ------------------------------------------------------------------------
  function connect() {
    if (typeof io !== "function") return;
    const socket = io({
      path: "/socket.io",
      withCredentials: true,
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.5,
    });
    state.socket = socket;
    setConn("connecting", "connecting…");

    socket.on("connect", () => {
      const again = Boolean(state.reconnects || state.attempts);
      setConn("connected");
      logSystem(again ? "reconnected" : "connected");
      if (again) run(refreshVaults); // memberships may have changed while away
      run(onConnected);
    });
    socket.on("disconnect", (reason) => {
      if (state.socket !== socket) return;
      setConn("disconnected", `disconnected (${reason})`);
      logSystem(`disconnected: ${reason}`);
      // A server-side disconnect is not retried by socket.io-client; unless the session
      // ended (session:expired came first), try again like any other drop.
      if (reason === "io server disconnect" && !state.stopped) socket.connect();
    });
    socket.on("connect_error", (err) => {
      if (state.socket !== socket) return;
      if (err.message === "UNAUTHORIZED") {
        endSession("unauthorized");
      } else if (!socket.active) {
        setConn("disconnected", `refused: ${err.message}`);
      }
    });
    socket.io.on("reconnect_attempt", (attempt) => {
      state.attempts += 1;
      setConn("reconnecting", `reconnecting (attempt ${attempt})`);
    });
    socket.io.on("reconnect", () => {
      state.reconnects += 1;
    });
    socket.on("session:expired", (data) => {
      if (state.loggingOut) return;
      endSession((data && data.reason) || "expired");
    });
    socket.onAny((name, data) => {
      if (name !== "session:expired") run(() => onServerEvent(socket, name, data));
    });
  }

  async function onConnected() {
    for (const vault of [...state.vaults.values()]) {
      if (!vault.loaded) continue;
      try {
        await socketJoin(vault);
      } catch (err) {
        // Dropped: the next connect rejoins every vault. Joined but the catch-up failed: the
        // next live event's gap, or the next connect, completes it; the others still join.
        if (!(err instanceof Dropped) || !state.socket || !state.socket.connected) throw err;
      }
    }
  }

  /** Rooms do not survive a reconnection: a vault is joined once per connection (socket.id
   * changes with each one). */
  function joinedNow(vault) {
    return Boolean(state.socket && state.socket.connected && vault.joinedOn === state.socket.id);
  }

  async function onServerEvent(socket, name, data) {
    if (state.socket !== socket || !data || typeof data !== "object") return;
    const vault = state.vaults.get(data.vaultId);
    if (EVENT_TYPES.has(name)) {
      if (vault) await apply(vault, data, true);
    } else if (name === "vault:access-revoked") {
      if (vault) gone(vault, data.reason === "vault_deleted" ? "This vault was deleted." : "You were removed from this vault.");
      await refreshVaults();
    } else if (name === "vault:role-changed") {
      logSystem(`your role in ${vault ? vault.name : data.vaultId} is now ${data.role}`);
      if (vault) {
        vault.role = data.role;
        renderCard(vault);
      }
      await refreshVaults();
    }
  }

  // -- vaults ----------------------------------------------------------------------------
  async function refreshVaults() {
    if (!state.user) return;
    try {
      state.myVaults = (await api("GET", "/api/vaults")).vaults;
    } catch (err) {
      if (err.status === 401) endSession("unauthorized");
      return;
    }
    renderVaultList();
  }

  function renderVaultList() {
    const list = $("#vault-list");
    list.replaceChildren();
    for (const info of state.myVaults) {
      const li = document.createElement("li");
      li.dataset.vaultId = info.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = info.name;
      const role = document.createElement("span");
      role.className = `badge ${info.role}`;
      role.textContent = info.role;
      const button = document.createElement("button");
      button.type = "button";
      const joined = state.vaults.has(info.id);
      button.textContent = joined ? "Leave" : "Join";
      button.addEventListener("click", () => run(() => (joined ? leaveVault(info.id) : joinVault(info.id))));
      li.append(name, role, button);
      list.append(li);
    }
    if (!state.myVaults.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "You are in no vault yet.";
      list.append(li);
    }
  }

  async function joinVault(id) {
    if (state.vaults.has(id)) return;
    const info = state.myVaults.find((v) => v.id === id);
    if (!info) return;
    const vault = {
      id, name: info.name, role: info.role, seq: 0, sources: new Map(),
      loaded: false, gone: null, editing: new Set(),
    };
    vault.card = makeCard(vault);
    state.vaults.set(id, vault);
    renderVaultList();
    renderCard(vault);
    try {
      await loadSnapshot(vault);
    } catch (err) {
      showError(vault, `Could not load the sources: ${err.message}`);
      state.vaults.delete(id);
      vault.card.remove();
      renderVaultList();
      return;
    }
    renderCard(vault);
    // Not connected now: the connect handler joins every loaded vault.
    if (state.socket && state.socket.connected) await socketJoin(vault).catch(() => {});
  }

  /** Every source, and the seq of the first page: later pages are as new or newer, and
   * replaying the events after that seq (full objects, in order) settles both. */
  async function loadSnapshot(vault) {
    const { sources, seq } = await readSources(vault);
    vault.sources = sources;
    vault.seq = seq;
    vault.loaded = true;
  }

  async function readSources(vault) {
    let cursor = null;
    let seq = null;
    const sources = new Map();
    do {
      const query = `limit=${SOURCE_PAGE}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
      const page = await api("GET", `/api/vaults/${encodeURIComponent(vault.id)}/sources?${query}`);
      if (seq === null) seq = page.seq;
      for (const source of page.sources) sources.set(source.id, source);
      cursor = page.nextCursor;
    } while (cursor);
    return { sources, seq };
  }

  async function socketJoin(vault) {
    if (joinedNow(vault)) return;
    const connection = state.socket && state.socket.id;
    const ack = await ask("vault:join", { vaultId: vault.id, after: vault.seq });
    if (state.vaults.get(vault.id) !== vault) return;
    if (!ack.ok) {
      gone(vault, `Cannot follow this vault any more: ${ack.error.message}`);
      return;
    }
    vault.role = ack.role;
    vault.joinedOn = connection;
    const count = await catchUp(vault, ack.missed || [], ack.hasMore);
    logSystem(`joined ${vault.name} as ${vault.role} at seq ${vault.seq}` + (count ? `, caught up ${count}` : ""));
    renderCard(vault);
  }

  async function leaveVault(id) {
    const vault = state.vaults.get(id);
    if (!vault) return;
    state.vaults.delete(id);
    vault.card.remove();
    updateNoJoined();
    renderVaultList();
    if (state.socket && state.socket.connected) await ask("vault:leave", { vaultId: id }).catch(() => {});
  }

  async function catchUp(vault, missed, hasMore) {
    let count = 0;
    for (const event of missed) count += await apply(vault, event, false);
    if (hasMore) count += await fetchEvents(vault, null);
    return count;
  }

  /** Apply one event in seq order; a gap before it is fetched first. Returns how many
   * events were applied. */
  async function apply(vault, event, live) {
    if (state.vaults.get(vault.id) !== vault || typeof event.seq !== "number") return 0;
    if (event.seq <= vault.seq) {
      state.duplicates += 1;
      return 0;
    }
    let count = 0;
    if (event.seq > vault.seq + 1) {
      count += await fetchEvents(vault, event.seq - 1);
      if (event.seq <= vault.seq || event.seq > vault.seq + 1) return count;
      if (state.vaults.get(vault.id) !== vault) return count;
    }
    const kind = event.type;
    if (kind === "sources:imported") {
      let fresh;
      try {
        fresh = await readSources(vault);
      } catch (err) {
        if (err.status === 404) gone(vault, "This vault is no longer available.");
        throw new Dropped(err.message); // the next event or the next rejoin will retry
      }
      if (state.vaults.get(vault.id) !== vault) return count;
      vault.sources = fresh.sources;
    } else if (kind === "source:created" || kind === "source:updated") {
      vault.sources.set(event.source.id, event.source);
    } else if (kind === "source:deleted") {
      vault.sources.delete(event.source.id);
    } else if (kind === "vault:updated") {
      vault.name = event.vault.name;
    }
    vault.seq = event.seq;
    logEvent(vault, event, live);
    renderSoon(vault);
    if (kind === "vault:deleted") {
      gone(vault, `This vault was deleted by ${event.actor.userName} (${event.actor.role}).`);
    }
    return count + 1;
  }

  /** Page the event log after vault.seq, up to `until` (or to its end). */
  async function fetchEvents(vault, until) {
    let count = 0;
    while (until === null || vault.seq < until) {
      let page;
      try {
        page = await api("GET", `/api/vaults/${encodeURIComponent(vault.id)}/events?after=${vault.seq}&limit=${EVENT_PAGE}`);
      } catch (err) {
        if (err.status === 404) gone(vault, "This vault is no longer available.");
        throw new Dropped(err.message); // the next event or the next rejoin will retry
      }
      for (const event of page.events) count += await apply(vault, event, false);
      if (!page.hasMore || !page.events.length) break;
    }
    return count;
  }

  function gone(vault, why) {
    if (vault.gone) return;
    vault.gone = why;
    if (state.vaults.get(vault.id) === vault) state.vaults.delete(vault.id);
    logSystem(`${vault.name}: ${why}`);
    renderCard(vault);
    renderVaultList();
  }

  // -- changes, through REST or the socket -------------------------------------------------
  function via(vault) {
    return $("input[name=via]:checked", vault.card).value;
  }

  async function change(vault, action, restCall, socketEvent, payload) {
    showError(vault, "");
    try {
      if (via(vault) === "rest") {
        await restCall();
      } else {
        let ack;
        try {
          ack = await ask(socketEvent, payload);
        } catch {
          throw new ApiError("DISCONNECTED", "Not connected to the server");
        }
        if (!ack.ok) throw new ApiError(ack.error.code, ack.error.message);
      }
      return true;
    } catch (err) {
      showError(vault, `${action} refused: ${err.message}`);
      return false;
    }
  }

  function fieldsOf(form) {
    const tags = form.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
    const fields = { title: form.title.value.trim(), tags };
    fields.url = form.url.value.trim() || null;
    fields.annotation = form.annotation.value.trim() || null;
    return fields;
  }

  async function addSource(vault, form) {
    const fields = fieldsOf(form);
    const id = encodeURIComponent(vault.id);
    const ok = await change(
      vault, "Add", () => api("POST", `/api/vaults/${id}/sources`, fields),
      "source:create", { vaultId: vault.id, ...fields },
    );
    if (ok) form.reset();
  }

  async function editSource(vault, source, form) {
    const fields = fieldsOf(form);
    const ok = await change(
      vault, "Edit", () => api("PATCH", `/api/sources/${encodeURIComponent(source.id)}`, fields),
      "source:update", { sourceId: source.id, ...fields },
    );
    if (ok) {
      vault.editing.delete(source.id);
      renderCard(vault, true);
    }
  }

  async function deleteSource(vault, source) {
    await change(
      vault, "Delete", () => api("DELETE", `/api/sources/${encodeURIComponent(source.id)}`),
      "source:delete", { sourceId: source.id },
    );
  }

  async function onNewVault(submit) {
    submit.preventDefault();
    const form = submit.target;
    try {
      const { vault } = await api("POST", "/api/vaults", { name: form.name.value.trim() });
      form.reset();
      await refreshVaults();
      run(() => joinVault(vault.id));
    } catch (err) {
      notice(`Could not create the vault: ${err.message}`);
    }
  }

  // -- rendering -------------------------------------------------------------------------
  function makeCard(vault) {
    const card = $("#card-template").content.firstElementChild.cloneNode(true);
    card.dataset.vaultId = vault.id;
    $(".add", card).addEventListener("submit", (submit) => {
      submit.preventDefault();
      addSource(vault, submit.target);
    });
    $(".leave", card).addEventListener("click", () => {
      if (vault.gone) {
        card.remove();
        updateNoJoined();
      } else {
        run(() => leaveVault(vault.id));
      }
    });
    const deleteButton = $(".delete-vault", card);
    deleteButton.addEventListener("click", async () => {
      if (!deleteButton.dataset.armed) {
        deleteButton.dataset.armed = "1";
        deleteButton.textContent = "Click again to delete the vault";
        return;
      }
      try {
        await api("DELETE", `/api/vaults/${encodeURIComponent(vault.id)}`);
      } catch (err) {
        showError(vault, `Delete vault refused: ${err.message}`);
      }
    });
    $("#cards").append(card);
    updateNoJoined();
    return card;
  }

  function updateNoJoined() {
    $("#no-joined").hidden = $("#cards").children.length > 0;
  }

  function showError(vault, text) {
    $(".error", vault.card).textContent = text;
  }

  /** Render once after a burst (a catch-up applies hundreds of events in one go). */
  function renderSoon(vault) {
    if (vault.renderPending) return;
    vault.renderPending = true;
    setTimeout(() => {
      vault.renderPending = false;
      renderCard(vault);
    }, 0);
  }

  function renderCard(vault, force = false) {
    const card = vault.card;
    $(".vault-name", card).textContent = vault.name;
    const role = $(".role", card);
    role.textContent = vault.role;
    role.className = `badge role ${vault.role}`;
    $(".seq", card).textContent = String(vault.seq);
    $(".delete-vault", card).hidden = vault.role !== "owner" || Boolean(vault.gone);
    const goneNote = $(".gone", card);
    goneNote.hidden = !vault.gone;
    goneNote.textContent = vault.gone || "";
    card.classList.toggle("is-gone", Boolean(vault.gone));
    for (const control of card.querySelectorAll("input, textarea, button:not(.leave)")) {
      control.disabled = Boolean(vault.gone);
    }
    if (vault.gone) $(".leave", card).textContent = "Close";

    const list = $(".sources", card);
    const rows = new Map([...list.children].map((li) => [li.dataset.id, li]));
    const ordered = [...vault.sources.values()].sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);
    for (const source of ordered) {
      let li = rows.get(source.id);
      rows.delete(source.id);
      if (!li) {
        li = document.createElement("li");
        li.className = "source";
        li.dataset.id = source.id;
      }
      const editing = vault.editing.has(source.id);
      if (force || li.dataset.version !== String(source.version) || li.dataset.editing !== String(editing)) {
        if (editing && li.dataset.editing === "true" && li.dataset.version !== String(source.version)) {
          // Changed by someone else while this person edits: keep their form, say so.
          const note = $(".edit-note", li);
          if (note) note.textContent = `Changed meanwhile by someone else (now version ${source.version}).`;
        } else {
          fillRow(vault, source, li, editing);
        }
        li.dataset.version = String(source.version);
        li.dataset.editing = String(editing);
      }
      list.append(li);
    }
    for (const li of rows.values()) li.remove();
    $(".empty", card).hidden = vault.sources.size > 0;
  }

  function fillRow(vault, source, li, editing) {
    li.replaceChildren();
    if (editing) {
      li.append(editForm(vault, source));
      return;
    }
    const main = document.createElement("div");
    main.className = "source-main";
    let title;
    if (source.url && /^https?:\/\//i.test(source.url)) {
      title = document.createElement("a");
      title.href = source.url;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    } else {
      title = document.createElement("span");
    }
    title.className = "title";
    title.textContent = source.title;
    main.append(title);
    for (const tag of source.tags) {
      const span = document.createElement("span");
      span.className = "tag";
      span.textContent = tag;
      main.append(" ", span);
    }
    if (source.annotation) {
      const p = document.createElement("p");
      p.className = "annotation";
      p.textContent = source.annotation;
      main.append(p);
    }
    const meta = document.createElement("p");
    meta.className = "meta muted";
    meta.textContent = `v${source.version} · added by ${source.createdBy.userName}`;
    main.append(meta);

    const actions = document.createElement("div");
    actions.className = "actions";
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "edit";
    edit.textContent = "Edit";
    edit.addEventListener("click", () => {
      vault.editing.add(source.id);
      renderCard(vault, true);
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.textContent = "Delete";
    remove.addEventListener("click", () => deleteSource(vault, vault.sources.get(source.id) || source));
    actions.append(edit, remove);
    li.append(main, actions);
  }

  function editForm(vault, source) {
    const form = document.createElement("form");
    form.className = "edit-form";
    const input = (name, value, placeholder) => {
      const el = document.createElement(name === "annotation" ? "textarea" : "input");
      el.name = name;
      el.value = value || "";
      el.placeholder = placeholder;
      return el;
    };
    const title = input("title", source.title, "Title");
    title.required = true;
    const note = document.createElement("p");
    note.className = "edit-note muted";
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => {
      vault.editing.delete(source.id);
      renderCard(vault, true);
    });
    form.append(
      title, input("url", source.url, "https://… (optional)"),
      input("tags", source.tags.join(", "), "Tags, comma separated"),
      input("annotation", source.annotation, "Annotation (optional)"), note, save, cancel,
    );
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      editSource(vault, vault.sources.get(source.id) || source, form);
    });
    return form;
  }

  boot();
})();
