/*
 * The multi-client test page. No framework: state in plain objects, the DOM built with
 * textContent (never innerHTML with data). Following vaults (loading, joining, catching up
 * across drops, the gap fetch, the backoff) is the shared client module /app/follow.js, the
 * same one the app at / uses; this page draws what it reports, and logs every event.
 */

import { Follower, api, newestFirst, sourcePath, vaultPath } from "/app/follow.js";

const LOG_ROWS = 1000;

const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  user: null,
  myVaults: [], // from GET /api/vaults
  cards: new Map(), // vault id -> its card element
};

const follower = new Follower(globalThis.io, {
  conn: setConn,
  log: logSystem,
  connected: (again) => {
    if (again) follower.run(refreshVaults); // memberships may have changed while away
  },
  event: logEvent,
  changed: renderSoon,
  gone: () => renderVaultList(),
  ended: (reason) => endSession(reason),
  roleChanged: async (vaultId, role, vault) => {
    logSystem(`your role in ${vault ? vault.name : vaultId} is now ${role}`);
    await refreshVaults();
  },
  revoked: () => refreshVaults(),
});
const run = (step) => follower.run(step);

// -- connection state, always visible ----------------------------------------------------
function setConn(status, text) {
  const el = $("#conn");
  el.dataset.state = status;
  el.textContent = text || status;
  $("#reconnects").textContent =
    `reconnect attempts: ${follower.attempts}` + (follower.reconnects ? ` · reconnected: ${follower.reconnects}` : "");
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
  if (typeof globalThis.io !== "function") {
    notice("The socket.io-client script did not load: install the npm packages on the server " +
      "(npm ci, or make install) and reload.");
  }
  $("#login-form").addEventListener("submit", onLogin);
  $("#logout").addEventListener("click", () => follower.logout());
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

function loggedIn(user) {
  state.user = user;
  $("#login-panel").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#who").textContent = `${user.name} <${user.email}>`;
  follower.connect();
  run(async () => {
    await refreshVaults();
    const wanted = new URLSearchParams(location.search).get("vault");
    if (wanted && state.myVaults.some((v) => v.id === wanted)) await joinVault(wanted);
  });
}

/** The session is over (the follower has stopped): forget the vaults, ask for a login. */
function endSession(reason) {
  state.user = null;
  for (const card of state.cards.values()) card.remove();
  state.cards.clear();
  state.myVaults = [];
  $("#vault-list").replaceChildren();
  updateNoJoined();
  const messages = {
    expired: "Your session has expired. Please log in again.",
    logged_out: "You were logged out (from another window). Please log in again.",
    unauthorized: "The server no longer accepts this session. Please log in again.",
  };
  showLogin(reason ? messages[reason] || "Please log in again." : "");
}

// -- vaults ----------------------------------------------------------------------------
async function refreshVaults() {
  if (!state.user) return;
  try {
    state.myVaults = (await api("GET", "/api/vaults")).vaults;
  } catch (err) {
    if (err.status === 401) follower.end("unauthorized");
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
    const joined = follower.vaults.has(info.id);
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
  if (follower.vaults.has(id)) return;
  const info = state.myVaults.find((v) => v.id === id);
  if (!info) return;
  const following = follower.follow(info, { editing: new Set() });
  // follow() registers the vault at once; draw its card while the sources load.
  let vault = follower.vaults.get(id);
  if (vault) {
    vault.card = makeCard(vault);
    renderVaultList();
    renderCard(vault);
  }
  try {
    vault = await following;
  } catch (err) {
    if (vault) {
      showError(vault, `Could not load the sources: ${err.message}`);
      vault.card.remove();
      state.cards.delete(id);
    }
    renderVaultList();
    return;
  }
  renderCard(vault);
}

async function leaveVault(id) {
  const vault = follower.vaults.get(id);
  if (!vault) return;
  const leaving = follower.unfollow(id);
  vault.card.remove();
  state.cards.delete(id);
  updateNoJoined();
  renderVaultList();
  await leaving;
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
      await follower.send(socketEvent, payload);
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
  const ok = await change(
    vault, "Add", () => api("POST", `${vaultPath(vault.id)}/sources`, fields),
    "source:create", { vaultId: vault.id, ...fields },
  );
  if (ok) form.reset();
}

async function editSource(vault, source, form) {
  const fields = fieldsOf(form);
  const ok = await change(
    vault, "Edit", () => api("PATCH", sourcePath(source.id), fields),
    "source:update", { sourceId: source.id, ...fields },
  );
  if (ok) {
    vault.editing.delete(source.id);
    renderCard(vault, true);
  }
}

async function deleteSource(vault, source) {
  await change(
    vault, "Delete", () => api("DELETE", sourcePath(source.id)),
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
      if (state.cards.get(vault.id) === card) state.cards.delete(vault.id);
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
      await api("DELETE", vaultPath(vault.id));
    } catch (err) {
      showError(vault, `Delete vault refused: ${err.message}`);
    }
  });
  $("#cards").append(card);
  state.cards.set(vault.id, card);
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
  if (!card) return; // not drawn yet, or closed
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
  const ordered = [...vault.sources.values()].sort(newestFirst);
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
