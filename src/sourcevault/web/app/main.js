/*
 * The sourcevault app: the store, the actions, and the follower's hooks. The screens are in
 * views.js; following a vault live (load, join, catch-up, gaps, backoff) is follow.js, shared
 * with the test page. Every user-supplied string reaches the DOM as text through Preact.
 */

import { html, render } from "/vendor/preact-htm.js";
import { Follower, api, sourcePath, vaultPath } from "/app/follow.js";
import { App, announcer } from "/app/views.js";
import { inviteToken, previewInvite } from "/app/invites.js";

const OVERVIEW = "/api/overview"; // the vault list, with member counts and last changes
const ACTIVITY_PAGE = 50;
const FLASH_MS = 4000;
const TOMBSTONE_MS = 8000;
const SEARCH_WAIT_MS = 250; // typing pauses this long before a search is sent
const SEARCH_LIMIT = 100;
const ENDED = {
  expired: "Your session has expired. Please sign in again.",
  logged_out: "You were signed out (from another window or device). Please sign in again.",
  unauthorized: "The server no longer accepts this session. Please sign in again.",
};

export const store = {
  checked: false, // the session has been looked up
  user: null,
  ended: null, // why the last session ended, for the sign-in screen
  demo: [],
  conn: { status: "offline", text: "offline" },
  notice: null, // {text, kind}
  vaults: [], // GET /api/overview: each Vault with .memberCount and .last added
  vault: null, // the open vault: the follower's object
  loading: null, // the id of the vault being opened
  members: [],
  activity: { events: [], hasOlder: false, loading: false },
  edits: new Map(), // source id -> {fields, base, saving, conflict, error}
  flashes: new Map(), // source id -> {text: "edited by Carl Contributor", until: Date.now() ms}
  tombstones: [], // {key, title, by}
  filter: { tag: "", query: "" },
  search: null, // the open full-text search: {q, tag, results, more, loading, error}
  invite: null, // the invite link the page was opened with: {token, preview | error, gone}
  shown: 100,
  error: "", // the open vault's last refused action
  memberError: "", // the members panel's
};

// -- drawing -----------------------------------------------------------------------------
let painting = false;
let root = null;
export function bump() {
  if (painting) return;
  painting = true;
  setTimeout(() => {
    painting = false;
    if (!root) {
      root = document.getElementById("root");
      root.replaceChildren(); // the "Loading" line
    }
    render(html`<${App} s=${store} a=${actions} />`, root);
  }, 0);
}

/** Say this in the live region. Only the region is redrawn, not the app; it is emptied
 * first and refilled a moment later, so a screen reader hears a repeated change too. */
function say(text) {
  announcer.say(text);
}

function notify(text, kind = "info") {
  store.notice = text ? { text, kind } : null;
  bump();
}

// -- the follower's hooks ----------------------------------------------------------------
const follower = new Follower(globalThis.io, {
  conn: (status, text) => {
    store.conn = { status, text };
    bump();
  },
  connected: (again) => {
    if (!again) return;
    follower.run(refreshVaults); // memberships may have changed while away
    if (store.vault) follower.run(loadMembers);
  },
  event: onEvent,
  changed: () => bump(),
  progress: (vault) => {
    // A long vault: show what has come while the rest loads (it is read-only until then).
    if (store.loading === vault.id && !store.vault) {
      store.vault = vault;
      loadMembers(); // the activity waits for the vault's seq, known once loaded
    }
    bump();
  },
  gone: (vault, why) => {
    if (store.vault !== vault) return;
    leaveView();
    notify(why, "warn");
    say(why);
    follower.run(refreshVaults);
  },
  ended: (reason) => {
    store.user = null;
    store.ended = reason ? ENDED[reason] || "Please sign in again." : null;
    leaveView();
    store.vaults = [];
    store.notice = null;
    loadDemoLogins();
    bump();
  },
  roleChanged: async (vaultId, role, vault) => {
    if (vault && vault === store.vault) {
      notify(`Your role in ${vault.name} is now ${role}.`);
      say(`Your role is now ${role}`);
      if (role === "viewer") store.edits.clear();
    }
    await refreshVaults();
  },
  revoked: () => refreshVaults(),
});

function who(event) {
  return event.actor ? event.actor.userName : "someone";
}

function onEvent(vault, event, live) {
  if (vault !== store.vault) return;
  const newest = store.activity.events[0];
  if (!newest || event.seq > newest.seq) store.activity.events.unshift(event);
  const kind = event.type;
  const mine = event.actor && store.user && event.actor.userId === store.user.id;
  if (kind.startsWith("member:")) follower.run(loadMembers);
  searchTouched(event);
  if (!kind.startsWith("source:")) {
    if (live && !mine) say(describe(event));
    return;
  }
  const source = event.source;
  const draft = store.edits.get(source.id);
  if (draft && !draft.saving && !mine) {
    if (kind === "source:deleted") {
      draft.conflict = { deleted: true, theirs: source, by: who(event) };
    } else if (kind === "source:updated" && source.version !== draft.base) {
      draft.conflict = { deleted: false, theirs: source, by: who(event) };
    }
  }
  if (!live) return;
  if (kind === "source:deleted") {
    const key = `${source.id}:${event.seq}`;
    store.tombstones.push({ key, title: source.title, by: who(event) });
    setTimeout(() => {
      store.tombstones = store.tombstones.filter((t) => t.key !== key);
      bump();
    }, TOMBSTONE_MS);
  } else {
    // Who added a source is on it already; an edit names its editor.
    // The row ends its own highlight (views.js); this only forgets it, drawing nothing.
    const flash = { text: kind === "source:created" ? "new" : `edited by ${who(event)}`, until: Date.now() + FLASH_MS };
    store.flashes.set(source.id, flash);
    setTimeout(() => {
      if (store.flashes.get(source.id) === flash) store.flashes.delete(source.id);
    }, FLASH_MS);
  }
  if (!mine) say(describe(event));
}

/** One line of the activity feed, and what the live region says. */
export function describe(event) {
  const name = who(event);
  const s = event.source;
  const m = event.member;
  switch (event.type) {
    case "source:created": return `${name} added “${s.title}”`;
    case "source:updated": return `${name} edited “${s.title}”`;
    case "source:deleted": return `${name} deleted “${s.title}”`;
    case "vault:updated": return `${name} renamed the vault to “${event.vault.name}”`;
    case "vault:deleted": return `${name} deleted the vault`;
    case "sources:imported": {
      const n = event.import.count;
      return `${name} imported ${n} source${n === 1 ? "" : "s"} from ${event.import.format}`;
    }
    case "member:added": return `${name} added ${m.name} as ${m.role}`;
    case "member:updated": return `${name} made ${m.name} ${m.role}`;
    case "member:removed":
      return event.actor && event.actor.userId === m.userId ? `${m.name} left` : `${name} removed ${m.name}`;
    default: return `${name}: ${event.type}`;
  }
}

// -- full-text search ------------------------------------------------------------------------
// A query with words is answered by the server (GET .../sources?q=&tag=, ranked); one
// without words (blank, punctuation) is no search, and the tag filter works on the loaded
// sources. While a search is open, any change to the vault's sources asks the server again
// (once the changes pause), so what matches is judged by the same rules as the first answer
// (word folding, prefixes, phrases) and ranked the same way; a deleted result goes at once.
let searchTimer = null;
let searchRound = 0;

function searchWords() {
  const q = store.filter.query.trim();
  return /[\p{L}\p{N}]/u.test(q) ? q : "";
}

function scheduleSearch(wait = SEARCH_WAIT_MS) {
  clearTimeout(searchTimer);
  const q = searchWords();
  if (!q || !store.vault) {
    searchRound += 1; // an answer still on its way is for a search no longer open
    store.search = null;
    return;
  }
  const tag = store.filter.tag;
  if (!store.search || store.search.q !== q || store.search.tag !== tag) {
    store.search = { q, tag, results: [], more: false, loading: true, error: "" };
  } else {
    store.search.loading = true;
  }
  searchTimer = setTimeout(() => runSearch(store.vault, q, tag), wait);
}

async function runSearch(vault, q, tag) {
  const round = ++searchRound;
  const params = new URLSearchParams({ q, limit: String(SEARCH_LIMIT) });
  if (tag) params.append("tag", tag);
  let page = null;
  let error = "";
  try {
    page = await api("GET", `${vaultPath(vault.id)}/sources?${params}`);
  } catch (err) {
    error = err.message;
  }
  if (round !== searchRound || store.vault !== vault || !store.search) return;
  store.search = {
    q, tag, loading: false, error,
    results: page ? page.sources : store.search.results,
    more: page ? Boolean(page.nextCursor) : store.search.more,
  };
  bump();
}

function searchTouched(event) {
  if (!store.search) return;
  if (event.type === "source:deleted") {
    store.search.results = store.search.results.filter((r) => r.id !== event.source.id);
  }
  if (event.type.startsWith("source:") || event.type === "sources:imported") scheduleSearch(100);
}

// -- invite links -----------------------------------------------------------------------------
async function readInvite() {
  const token = inviteToken();
  if (token === null) return;
  store.invite = { token };
  bump();
  store.invite = { token, ...(await previewInvite(token)) };
  bump();
}

function dropInvite(hash = "#/") {
  store.invite = null;
  history.replaceState(null, "", `/${hash}`); // the token leaves the address bar
}

// -- session -------------------------------------------------------------------------------
async function boot() {
  // Opening and closing vaults queue behind the follower's other steps, so no event is
  // applied to a vault whose sources are still loading.
  window.addEventListener("hashchange", () => follower.run(route));
  if (typeof globalThis.io !== "function") {
    notify("The live connection's script did not load: install the npm packages on the server " +
      "(npm ci, or make install) and reload. Changes by others will not show until then.", "warn");
  }
  // Being added to a vault reaches no room the person is in: look again on coming back.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && store.user) follower.run(refreshVaults);
  });
  readInvite();
  // Both asked at once (index.html preloads them while the modules load): a signed-in person's
  // vault list does not wait for the session's answer.
  const listing = api("GET", OVERVIEW).catch(() => null);
  try {
    const session = await api("GET", "/api/auth/session");
    signedIn(session.user, listing);
  } catch {
    store.checked = true;
    loadDemoLogins();
    bump();
  }
}

/** The demo logins, which only the sign-in screen shows (a server started with --demo). */
let demoAsked = false;
function loadDemoLogins() {
  if (demoAsked) return;
  demoAsked = true;
  api("GET", "/realtime-test/demo-logins").then((body) => {
    store.demo = body.logins;
    bump();
  }, () => {});
}

/** `listing`: the vault list's answer already asked for, if any (a promise of it or null). */
function signedIn(user, listing = null) {
  store.user = user;
  store.checked = true;
  store.ended = null;
  follower.connect();
  follower.run(async () => {
    await showVaults(listing);
    await route();
  });
  bump();
}

async function route() {
  if (!store.user) return;
  const match = /^#\/vault\/([^/]+)$/.exec(location.hash);
  const id = match ? decodeURIComponent(match[1]) : null;
  if (store.vault && store.vault.id !== id) await closeVault();
  if (id && (!store.vault || store.vault.id !== id)) await openVault(id);
  bump();
}

function leaveView() {
  store.vault = null;
  store.search = null;
  store.edits.clear();
  store.flashes.clear();
  store.tombstones = [];
  store.members = [];
  store.activity = { events: [], hasOlder: false, loading: false };
  store.error = "";
  store.memberError = "";
  if (location.hash.startsWith("#/vault/")) history.replaceState(null, "", "#/");
}

// -- vaults ----------------------------------------------------------------------------------
/** The vault list with each vault's member count and last change, read in one request. (Also
 * a step of the follower's queue, which hands each step the one before's result: no argument.) */
async function refreshVaults() {
  await showVaults(null);
}

/** `listing`: that request's answer when it was already asked for (used if it came), or null. */
async function showVaults(listing) {
  if (!store.user) return;
  let rows = listing && (await listing);
  try {
    if (!rows) rows = await api("GET", OVERVIEW);
  } catch (err) {
    if (err.status === 401) follower.end("unauthorized");
    return;
  }
  store.vaults = rows.vaults.map((row) => ({ ...row.vault, memberCount: row.memberCount, last: row.lastEvent }));
  bump();
}

async function openVault(id) {
  let info = store.vaults.find((v) => v.id === id);
  if (!info) {
    try {
      info = (await api("GET", vaultPath(id))).vault;
    } catch (err) {
      notify(err.status === 404 ? "That vault does not exist or you are not a member." : err.message, "warn");
      history.replaceState(null, "", "#/");
      return;
    }
  }
  store.loading = id;
  store.filter = { tag: "", query: "" };
  store.search = null;
  store.shown = 100;
  store.notice = null;
  bump();
  try {
    const vault = await follower.follow(info);
    if (location.hash !== `#/vault/${encodeURIComponent(id)}` || vault.gone) {
      if (store.vault === vault) leaveView();
      await follower.unfollow(id);
      return;
    }
    const early = store.vault === vault; // shown while loading, its members read
    store.vault = vault;
    await Promise.all([early ? null : loadMembers(), loadActivity()]);
  } catch (err) {
    if (store.vault && store.vault.id === id) leaveView();
    notify(`Could not open the vault: ${err.message}`, "warn");
    history.replaceState(null, "", "#/");
    return;
  } finally {
    store.loading = null;
  }
  bump();
}

async function closeVault() {
  const vault = store.vault;
  leaveView();
  if (vault) await follower.unfollow(vault.id);
  follower.run(refreshVaults);
}

async function loadMembers() {
  const vault = store.vault;
  if (!vault) return;
  try {
    const { members } = await api("GET", `${vaultPath(vault.id)}/members`);
    if (store.vault === vault) store.members = members;
  } catch {
    // revoked or deleted: the follower says so
  }
  bump();
}

async function loadActivity(older = false) {
  const vault = store.vault;
  if (!vault) return;
  const events = store.activity.events;
  const top = older && events.length ? events[events.length - 1].seq - 1 : vault.seq;
  const after = Math.max(0, top - ACTIVITY_PAGE);
  const limit = Math.max(1, top - after);
  store.activity.loading = true;
  bump();
  try {
    const page = await api("GET", `${vaultPath(vault.id)}/events?after=${after}&limit=${limit}`);
    if (store.vault !== vault) return;
    const have = new Set(store.activity.events.map((e) => e.seq));
    const add = page.events.filter((e) => e.seq <= top && !have.has(e.seq));
    store.activity.events = [...store.activity.events, ...add].sort((x, y) => y.seq - x.seq);
    store.activity.hasOlder = after > 0;
  } catch {
    // shown as it stands; the button stays for another try
  } finally {
    store.activity.loading = false;
    bump();
  }
}

// -- changes -------------------------------------------------------------------------------
function refused(err) {
  if (err.code === "CONFLICT" && /owner/.test(err.message)) {
    return `${err.message}: make another member an owner first, then try again.`;
  }
  return err.message;
}

async function attempt(step, where = "error") {
  store[where] = "";
  try {
    await step();
    return true;
  } catch (err) {
    if (err.status === 401) {
      follower.end("unauthorized");
    } else {
      store[where] = refused(err);
    }
    bump();
    return false;
  }
}

export const actions = {
  describe,
  async signIn(email, password) {
    const session = await api("POST", "/api/auth/login", { email, password });
    signedIn(session.user);
  },
  async signUp(name, email, password) {
    await api("POST", "/api/auth/register", { name, email, password });
    await actions.signIn(email, password);
  },
  signOut() {
    follower.logout();
    location.hash = "#/";
  },
  dismiss() {
    notify(null);
  },
  async createVault(name, description) {
    const { vault } = await api("POST", "/api/vaults", description ? { name, description } : { name });
    await refreshVaults();
    location.hash = `#/vault/${encodeURIComponent(vault.id)}`;
  },
  async renameVault(id, name) {
    await api("PATCH", vaultPath(id), { name });
    await refreshVaults();
  },
  async deleteVault(id) {
    await api("DELETE", vaultPath(id));
    await refreshVaults();
  },
  refreshVaults: () => follower.run(refreshVaults),
  setFilter(change) {
    store.filter = { ...store.filter, ...change };
    store.shown = 100;
    scheduleSearch();
    bump();
  },
  /** Join the vault of the invite link the page was opened with, and open it. */
  async acceptInvite(token) {
    const { vault } = await api("POST", "/api/invites/accept", { token });
    dropInvite(`#/vault/${encodeURIComponent(vault.id)}`);
    follower.run(async () => {
      await refreshVaults();
      await route();
    });
    bump();
  },
  dropInvite() {
    dropInvite();
    bump();
  },
  showMore() {
    store.shown += 100;
    bump();
  },
  addSource: (fields) => attempt(() => api("POST", `${vaultPath(store.vault.id)}/sources`, fields)),
  deleteSource: (source) => attempt(() => api("DELETE", sourcePath(source.id))),
  startEdit(source) {
    store.edits.set(source.id, {
      fields: {
        title: source.title, url: source.url || "", tags: source.tags.join(", "),
        annotation: source.annotation || "",
      },
      base: source.version, saving: false, conflict: null, error: "",
    });
    bump();
  },
  cancelEdit(id) {
    store.edits.delete(id);
    bump();
  },
  /** Save an edit. `over` is the version to save over, once the editor chose to keep theirs
   * over someone else's; otherwise the version the edit started from. */
  async saveEdit(id, over) {
    const draft = store.edits.get(id);
    if (!draft || draft.saving) return;
    draft.saving = true;
    draft.error = "";
    bump();
    const body = { ...fieldsOf(draft.fields), version: over ?? draft.base };
    try {
      await api("PATCH", sourcePath(id), body);
      store.edits.delete(id);
    } catch (err) {
      if (err.code === "CONFLICT" && err.details && err.details.source) {
        draft.conflict = { deleted: false, theirs: err.details.source, by: "Someone else" };
      } else if (err.code === "NOT_FOUND") {
        draft.conflict = { deleted: true, theirs: null, by: "Someone else" };
      } else {
        draft.error = err.message;
      }
    } finally {
      draft.saving = false;
      bump();
    }
  },
  /** Someone else deleted what was being edited, and the editor keeps theirs as new. */
  async saveAsNew(id) {
    const draft = store.edits.get(id);
    if (!draft) return;
    try {
      await api("POST", `${vaultPath(store.vault.id)}/sources`, fieldsOf(draft.fields));
      store.edits.delete(id);
    } catch (err) {
      draft.error = err.message;
    }
    bump();
  },
  addMember: (email, role) => attempt(() => api("POST", `${vaultPath(store.vault.id)}/members`, { email, role }), "memberError"),
  setRole: (userId, role) => attempt(() => api("PATCH", `${vaultPath(store.vault.id)}/members/${encodeURIComponent(userId)}`, { role }), "memberError"),
  removeMember: (userId) => attempt(() => api("DELETE", `${vaultPath(store.vault.id)}/members/${encodeURIComponent(userId)}`), "memberError"),
  olderActivity: () => loadActivity(true),
};

export function fieldsOf(fields) {
  return {
    title: fields.title.trim(),
    url: fields.url.trim() || null,
    tags: fields.tags.split(",").map((t) => t.trim()).filter(Boolean),
    annotation: fields.annotation.trim() || null,
  };
}


bump();
boot();
