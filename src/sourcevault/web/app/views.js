/*
 * The app's screens, as Preact components written with htm (no build step). They read the
 * store `s` and call the actions `a` (main.js); every user-supplied string is a text child,
 * never markup.
 */

import { Component, html, useEffect, useLayoutEffect, useRef, useState } from "/vendor/preact-htm.js";
import { InviteNote, InviteScreen, InvitesPanel } from "/app/invites.js";
import { Transfer } from "/app/transfer.js";
import { Here } from "/app/presence.js";

const ROLES = ["owner", "contributor", "viewer"];
const WHOLE_LIST = 200; // up to this many rows are drawn whole; a longer list only near the view
const OVERSCAN_PX = 1000; // rows drawn above and below the window, so scrolling finds them there
const ROW_GUESS_PX = 60; // a row not yet drawn is taken to be this tall

/** The component drawn again only when one of its props is a different value (`keep`
 * names a prop whose object changes in place, which always draws it again). */
function memo(component, keep = null) {
  return class extends Component {
    shouldComponentUpdate(next) {
      if (keep && next[keep]) return true;
      for (const key in next) if (next[key] !== this.props[key]) return true;
      for (const key in this.props) if (!(key in next)) return true;
      return false;
    }

    render(props) {
      return html`<${component} ...${props} />`;
    }
  };
}

/** The live region: said text goes here, drawing this element alone, not the app. */
export const announcer = {
  text: "",
  set: null,
  say(text) {
    this.show(""); // emptied first, so that a repeated change is heard again
    setTimeout(() => this.show(text), 50);
  },
  show(text) {
    this.text = text;
    if (this.set) this.set(text);
  },
};

const Announcer = memo(() => {
  const [text, setText] = useState(announcer.text);
  useEffect(() => {
    announcer.set = setText;
    setText(announcer.text);
    return () => { announcer.set = null; };
  }, []);
  return html`<div class="visually-hidden" aria-live="polite" id="announce">${text}</div>`;
});

function when(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

export function App({ s, a }) {
  let screen;
  if (!s.checked) screen = html`<p class="booting">Loading sourcevault…</p>`;
  else if (!s.user) screen = html`<${SignIn} s=${s} a=${a} />`;
  else if (s.invite) screen = html`<${InviteScreen} s=${s} a=${a} />`;
  else if (s.vault) screen = html`<${VaultView} s=${s} a=${a} v=${s.vault} />`;
  else if (s.loading) screen = html`<p class="panel" role="status">Opening the vault…</p>`;
  else screen = html`<${VaultList} s=${s} a=${a} />`;
  return html`
    <header class="topbar">
      <a class="brand" href="#/">sourcevault</a>
      ${s.user && html`
        <div class="status">
          <span id="conn" class="conn" data-state=${s.conn.status} role="status">${s.conn.text}</span>
          <span class="who">${s.user.name}</span>
          <button type="button" class="quiet" onClick=${a.signOut}>Sign out</button>
        </div>`}
    </header>
    ${s.notice && html`
      <div class="notice ${s.notice.kind}" role="alert">
        <span>${s.notice.text}</span>
        <button type="button" class="quiet" onClick=${a.dismiss}>Dismiss</button>
      </div>`}
    <main id="main">${screen}</main>
    <${Announcer} />
  `;
}

// -- signing in and up ---------------------------------------------------------------------
function SignIn({ s, a }) {
  const [mode, setMode] = useState("in");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError("");
    try {
      if (mode === "in") await a.signIn(form.email.value, form.password.value);
      else await a.signUp(form.name.value.trim(), form.email.value, form.password.value);
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  const demo = (login) => a.signIn(login.email, login.password).catch((err) => setError(err.message));
  return html`
    <section class="panel narrow signin">
      <h1>${mode === "in" ? "Sign in" : "Create an account"}</h1>
      ${s.ended && html`<p class="ended" role="alert">${s.ended}</p>`}
      ${s.invite && html`<${InviteNote} invite=${s.invite} />`}
      <form onSubmit=${submit} id="signin-form">
        ${mode === "up" && html`
          <label>Name <input name="name" autocomplete="name" required maxlength="100" /></label>`}
        <label>Email <input name="email" type="email" autocomplete="username" required /></label>
        <label>Password
          <input name="password" type="password" required minlength=${mode === "up" ? 8 : undefined}
            autocomplete=${mode === "in" ? "current-password" : "new-password"} />
        </label>
        <button type="submit" disabled=${busy}>${mode === "in" ? "Sign in" : "Create account"}</button>
        <p class="error" role="alert">${error}</p>
      </form>
      <p>
        ${mode === "in" ? "New here? " : "Have an account? "}
        <button type="button" class="link" onClick=${() => { setMode(mode === "in" ? "up" : "in"); setError(""); }}>
          ${mode === "in" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
      ${s.demo.length > 0 && html`
        <div class="demo">
          <h2>Demo logins</h2>
          <ul>${s.demo.map((login) => html`
            <li key=${login.email}>
              <button type="button" onClick=${() => demo(login)}>Sign in as the ${login.role}</button>
              <code>${login.email}</code>
            </li>`)}
          </ul>
        </div>`}
    </section>
  `;
}

// -- the vault list --------------------------------------------------------------------------
function VaultList({ s, a }) {
  const [error, setError] = useState("");
  const create = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    try {
      await a.createVault(form.name.value.trim(), form.description.value.trim());
      form.reset();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`
    <section class="panel" aria-labelledby="vaults-title">
      <div class="list-head">
        <h1 id="vaults-title">Your vaults</h1>
        <button type="button" onClick=${a.refreshVaults}>Refresh</button>
      </div>
      ${s.vaults.length === 0
        ? html`<p class="muted">You are in no vault yet. Create one below, or ask an owner to add you.</p>`
        : html`<ul class="vault-list">${s.vaults.map((v) => html`<${VaultRow} key=${v.id} v=${v} a=${a} />`)}</ul>`}
    </section>
    <section class="panel" aria-labelledby="new-vault-title">
      <h2 id="new-vault-title">New vault</h2>
      <form class="new-vault" onSubmit=${create}>
        <label>Name <input name="name" required maxlength="200" /></label>
        <label>Description <input name="description" maxlength="2000" /></label>
        <button type="submit">Create vault</button>
      </form>
      <p class="error" role="alert">${error}</p>
    </section>
  `;
}

function VaultRow({ v, a }) {
  const [mode, setMode] = useState(null); // null, "rename", "delete"
  const [error, setError] = useState("");
  const act = async (step) => {
    setError("");
    try {
      await step();
      setMode(null);
    } catch (err) {
      setError(err.message);
    }
  };
  const rename = (e) => {
    e.preventDefault();
    const name = e.currentTarget.name.value.trim();
    act(() => a.renameVault(v.id, name));
  };
  const last = v.last
    ? `${v.last.actor.userName}, ${when(v.last.at)}`
    : `created ${when(v.createdAt)}`;
  return html`
    <li class="vault-row" data-vault-id=${v.id}>
      <div class="vault-main">
        <a class="vault-name" href=${`#/vault/${encodeURIComponent(v.id)}`}>${v.name}</a>
        <span class="badge ${v.role}">${v.role}</span>
        ${v.description && html`<p class="muted">${v.description}</p>`}
        <p class="meta">
          <span class="members-count">${v.memberCount === undefined ? "…" : `${v.memberCount} member${v.memberCount === 1 ? "" : "s"}`}</span>
          · <span class="last-change">last change: ${last}</span>
        </p>
      </div>
      ${v.role === "owner" && !mode && html`
        <div class="actions">
          <button type="button" onClick=${() => setMode("rename")}>Rename</button>
          <button type="button" class="danger" onClick=${() => setMode("delete")}>Delete</button>
        </div>`}
      ${mode === "rename" && html`
        <form class="rename" onSubmit=${rename}>
          <label>New name for ${v.name} <input name="name" required maxlength="200" defaultValue=${v.name} /></label>
          <button type="submit">Save name</button>
          <button type="button" onClick=${() => setMode(null)}>Cancel</button>
        </form>`}
      ${mode === "delete" && html`
        <div class="confirm" role="alertdialog" aria-label=${`Delete ${v.name}?`}>
          <p>Delete the vault “${v.name}” and all its sources, for every member? This cannot be undone.</p>
          <button type="button" class="danger" onClick=${() => act(() => a.deleteVault(v.id))}>Delete “${v.name}”</button>
          <button type="button" onClick=${() => setMode(null)}>Keep it</button>
        </div>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </li>
  `;
}

// -- one vault -------------------------------------------------------------------------------
function VaultView({ s, a, v }) {
  // Writes wait until every source is loaded (and the vault joined): an edit needs the
  // current version, and the room must be there to see its answer.
  const canWrite = v.loaded && (v.role === "owner" || v.role === "contributor");
  return html`
    <div class="vault-view" data-vault-id=${v.id}>
      <div class="vault-head">
        <a href="#/" class="back">← All vaults</a>
        <h1 class="vault-title">${v.name}</h1>
        <span class="badge ${v.role}" id="my-role">${v.role}</span>
      </div>
      ${v.description && html`<p class="muted">${v.description}</p>`}
      <div class="columns">
        <section class="panel sources-panel" aria-labelledby="sources-title">
          <h2 id="sources-title">Sources</h2>
          ${canWrite && html`<${AddSource} a=${a} />`}
          ${!v.loaded && html`<p class="muted loading" role="status">Loading sources… ${v.sources.size} so far.</p>`}
          ${v.loaded && !canWrite && html`<p class="muted read-only">You can read this vault; only its owners and contributors can change it.</p>`}
          ${s.error && html`<p class="error" role="alert">${s.error}</p>`}
          <${SourceList} s=${s} a=${a} v=${v} canWrite=${canWrite} />
        </section>
        <aside class="side">
          <${Here} s=${s} v=${v} />
          <${Members} s=${s} a=${a} v=${v} />
          ${v.role === "owner" && html`<${InvitesPanel} v=${v} />`}
          <${Transfer} v=${v} canWrite=${canWrite} />
          <${Activity} s=${s} a=${a} />
        </aside>
      </div>
    </div>
  `;
}

function AddSource({ a }) {
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const fields = {
      title: form.title.value.trim(),
      url: form.url.value.trim() || null,
      tags: form.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
      annotation: form.annotation.value.trim() || null,
    };
    if (await a.addSource(fields)) form.reset();
  };
  return html`
    <form class="add-source" onSubmit=${submit}>
      <label>Title <input name="title" required maxlength="500" /></label>
      <label>Link <input name="url" type="url" placeholder="https://…" /></label>
      <label>Tags <input name="tags" placeholder="comma, separated" /></label>
      <label class="wide">Note <textarea name="annotation" rows="2" maxlength="10000"></textarea></label>
      <button type="submit">Add source</button>
    </form>
  `;
}

/** What the list shows is derived from the vault's sources (kept newest first as they come)
 * once per change of the sources or of the filter, not at every drawing. */
const derived = new WeakMap(); // vault.sources -> {version, tag, tags, shown}

function listed(v, tag) {
  const sources = v.sources;
  let d = derived.get(sources);
  if (!d || d.version !== sources.version) {
    d = { version: sources.version, tags: null, tag: null, shown: null };
    derived.set(sources, d);
  }
  if (d.tags === null) d.tags = [...new Set(sources.list.flatMap((src) => src.tags))].sort();
  if (d.shown === null || d.tag !== tag) {
    d.tag = tag;
    d.shown = tag ? sources.list.filter((src) => src.tags.includes(tag)) : sources.list;
  }
  return d;
}

function SourceList({ s, a, v, canWrite }) {
  const all = v.sources.list;
  const { tags, shown: filtered } = listed(v, s.filter.tag);
  const search = s.search;
  const shown = search ? searchResults(search, v) : filtered;
  const page = shown.length > s.shown ? shown.slice(0, s.shown) : shown;
  let count = shown.length === all.length ? `${all.length} sources` : `${shown.length} of ${all.length} sources`;
  if (search) {
    count = search.loading && search.results.length === 0 ? "Searching…"
      : `${search.more ? "the best " : ""}${shown.length} match${shown.length === 1 ? "" : "es"}, best first`;
  }
  return html`
    <div class="filters">
      <div class="field">
        <label for="search-sources">Search sources</label>
        <input id="search-sources" type="search" value=${s.filter.query} placeholder="words in titles, notes, links, tags"
          onInput=${(e) => a.setFilter({ query: e.currentTarget.value })} />
      </div>
      <div class="field">
        <label for="tag-filter">Filter by tag</label>
        <select id="tag-filter" value=${s.filter.tag} onChange=${(e) => a.setFilter({ tag: e.currentTarget.value })}>
          <option value="">All tags</option>
          ${tags.map((t) => html`<option key=${t} value=${t}>${t}</option>`)}
        </select>
      </div>
      <span class="muted count" role="status">${count}</span>
    </div>
    ${search && search.error && html`<p class="error" role="alert">${search.error}</p>`}
    ${s.tombstones.length > 0 && html`
      <ul class="tombstones">${s.tombstones.map((t) => html`
        <li key=${t.key} class="tombstone">“${t.title}” was deleted by ${t.by}</li>`)}
      </ul>`}
    <${Rows} rows=${page} s=${s} a=${a} canWrite=${canWrite} search=${Boolean(search)} />
    ${all.length === 0 && html`<p class="muted empty">No sources yet.</p>`}
    ${all.length > 0 && shown.length === 0 && !(search && search.loading) && html`<p class="muted empty">No source matches.</p>`}
    ${shown.length > page.length && html`
      <button type="button" class="more" onClick=${a.showMore}>Show more (${shown.length - page.length} left)</button>`}
  `;
}

/** The rows of the list. A long list draws only the rows within OVERSCAN_PX of the window,
 * the others standing in as the list's padding (their heights as last drawn, or a guess), so
 * that the page holds a bounded number of rows however many are loaded, and a change draws
 * only the rows it changed (each row is memoised). */
function Rows({ rows, s, a, canWrite, search }) {
  const list = useRef(null);
  const heights = useRef(new Map()).current; // source id -> its row's height when last drawn
  const [, setMoved] = useState(0);
  const whole = rows.length <= WHOLE_LIST;
  useEffect(() => {
    if (whole) return undefined;
    let queued = false;
    const moved = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        setMoved((n) => n + 1);
      });
    };
    addEventListener("scroll", moved, { passive: true });
    addEventListener("resize", moved);
    return () => {
      removeEventListener("scroll", moved);
      removeEventListener("resize", moved);
    };
  }, [whole]);
  useLayoutEffect(() => {
    // Each drawn row's height, for the space it takes once out of the window; a row drawn
    // taller or shorter than taken moves the others, so the window is placed again.
    if (whole || !list.current) return;
    let moved = false;
    for (const li of list.current.children) {
      const height = li.offsetHeight;
      if ((heights.get(li.dataset.id) ?? ROW_GUESS_PX) !== height) moved = true;
      heights.set(li.dataset.id, height);
    }
    if (moved && !whole) setMoved((n) => n + 1);
  });
  let start = 0;
  let end = rows.length;
  let above = 0;
  let below = 0;
  if (!whole) {
    const top = list.current ? list.current.getBoundingClientRect().top : 0;
    const from = -top - OVERSCAN_PX;
    const to = -top + innerHeight + OVERSCAN_PX;
    const height = (src) => heights.get(src.id) ?? ROW_GUESS_PX;
    let y = 0;
    while (start < rows.length && y + height(rows[start]) <= from) y += height(rows[start++]);
    above = y;
    end = start;
    while (end < rows.length && y < to) y += height(rows[end++]);
    for (let i = end; i < rows.length; i += 1) below += height(rows[i]);
  }
  const style = whole ? undefined : `padding-top:${above}px;padding-bottom:${below}px`;
  return html`
    <ul class=${search ? "sources results" : "sources"} ref=${list} style=${style}>
      ${rows.slice(start, end).map((src) => html`
        <${SourceRow} key=${src.id} src=${src} draft=${s.edits.get(src.id)} flash=${s.flashes.get(src.id)}
          a=${a} canWrite=${canWrite} />`)}
    </ul>
  `;
}

/** The server's ranked answer, each source as the vault holds it now (its latest version);
 * one the vault no longer holds is gone. */
function searchResults(search, v) {
  return search.results
    .map((r) => (v.loaded ? v.sources.get(r.id) : v.sources.get(r.id) || r))
    .filter(Boolean);
}

/** One source's row: drawn again only when its source, draft or highlight changed; the
 * highlight ends by itself (this row alone is drawn again then, with no hook scheduling a
 * frame). */
class SourceRow extends memo(SourceRowView, "draft") {
  componentDidMount() {
    this.watch();
  }

  componentDidUpdate() {
    this.watch();
  }

  componentWillUnmount() {
    clearTimeout(this.timer);
  }

  watch() {
    const { flash } = this.props;
    if (flash === this.watched) return;
    this.watched = flash;
    clearTimeout(this.timer);
    const left = flash ? flash.until - Date.now() : 0;
    if (left > 0) this.timer = setTimeout(() => this.forceUpdate(), left + 1);
  }
}

function SourceRowView({ src, draft, flash, a, canWrite }) {
  const lit = flash && flash.until > Date.now() ? flash.text : null;
  if (draft && canWrite) return html`<li class="source editing" data-id=${src.id}><${EditSource} src=${src} draft=${draft} a=${a} /></li>`;
  const link = src.url && /^https?:\/\//i.test(src.url);
  return html`
    <li class="source ${lit ? "flash" : ""}" data-id=${src.id} data-version=${src.version}>
      <div class="source-main">
        ${link
          ? html`<a class="title" href=${src.url} target="_blank" rel="noopener noreferrer">${src.title}</a>`
          : html`<span class="title">${src.title}</span>`}
        ${src.tags.map((t) => html` <button type="button" class="tag" aria-label=${`Only tag ${t}`} onClick=${() => a.setFilter({ tag: t })}>${t}</button>`)}
        ${src.annotation && html`<p class="annotation">${src.annotation}</p>`}
        <p class="meta">
          v${src.version} · added by ${src.createdBy.userName}
          ${lit && html` · <strong class="changed-by">${lit}</strong>`}
        </p>
      </div>
      ${canWrite && html`
        <div class="actions">
          <button type="button" onClick=${() => a.startEdit(src)} aria-label=${`Edit ${src.title}`}>Edit</button>
          <button type="button" class="danger" onClick=${() => a.deleteSource(src)} aria-label=${`Delete ${src.title}`}>Delete</button>
        </div>`}
    </li>
  `;
}

function EditSource({ src, draft, a }) {
  const f = draft.fields;
  const bind = (name) => ({
    value: f[name],
    onInput: (e) => { f[name] = e.currentTarget.value; },
  });
  const c = draft.conflict;
  const title = useRef(null);
  useEffect(() => title.current && title.current.focus(), []); // on opening the editor
  const submit = (e) => {
    e.preventDefault();
    a.saveEdit(src.id);
  };
  return html`
    <form class="edit-source" onSubmit=${submit} aria-label=${`Edit ${src.title}`}>
      ${c && html`
        <div class="conflict" role="alert">
          ${c.deleted
            ? html`<p><strong>${c.by} deleted this source</strong> while you were editing it.</p>`
            : html`<p><strong>${c.by} changed this source</strong> while you were editing it. Their version and yours:</p>`}
          ${c.theirs && !c.deleted && html`
            <div class="theirs">
              <h3>Theirs (version ${c.theirs.version})</h3>
              <p class="their-title">${c.theirs.title}</p>
              ${c.theirs.url && html`<p class="muted">${c.theirs.url}</p>`}
              ${c.theirs.tags.length > 0 && html`<p class="muted">tags: ${c.theirs.tags.join(", ")}</p>`}
              ${c.theirs.annotation && html`<p>${c.theirs.annotation}</p>`}
            </div>`}
          <h3>Yours (below)</h3>
          <div class="choices">
            ${c.deleted
              ? html`<button type="button" onClick=${() => a.saveAsNew(src.id)}>Add mine as a new source</button>`
              : html`<button type="button" onClick=${() => a.saveEdit(src.id, c.theirs.version)}>Keep mine</button>`}
            <button type="button" onClick=${() => a.cancelEdit(src.id)}>${c.deleted ? "Discard mine" : "Keep theirs"}</button>
          </div>
        </div>`}
      <label>Title <input name="title" required maxlength="500" ref=${title} ...${bind("title")} /></label>
      <label>Link <input name="url" type="url" ...${bind("url")} /></label>
      <label>Tags <input name="tags" ...${bind("tags")} /></label>
      <label class="wide">Note <textarea name="annotation" rows="3" ...${bind("annotation")}></textarea></label>
      ${!c && html`
        <div class="choices">
          <button type="submit" disabled=${draft.saving}>Save</button>
          <button type="button" onClick=${() => a.cancelEdit(src.id)}>Cancel</button>
        </div>`}
      ${draft.error && html`<p class="error" role="alert">${draft.error}</p>`}
    </form>
  `;
}

// -- members ---------------------------------------------------------------------------------
function Members({ s, a, v }) {
  const owner = v.role === "owner";
  const add = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    if (await a.addMember(form.email.value.trim(), form.role.value)) form.reset();
  };
  return html`
    <section class="panel members" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <ul class="member-list">
        ${s.members.map((m) => html`
          <li key=${m.userId} class="member" data-user-id=${m.userId}>
            <span class="member-name">${m.name}${s.user && m.userId === s.user.id ? " (you)" : ""}</span>
            <span class="muted member-email">${m.email}</span>
            ${owner
              ? html`
                <label class="visually-hidden" for=${`role-${m.userId}`}>Role of ${m.name}</label>
                <select id=${`role-${m.userId}`} value=${m.role} onChange=${(e) => a.setRole(m.userId, e.currentTarget.value)}>
                  ${ROLES.map((r) => html`<option key=${r} value=${r}>${r}</option>`)}
                </select>
                <button type="button" class="danger" onClick=${() => a.removeMember(m.userId)} aria-label=${`Remove ${m.name}`}>Remove</button>`
              : html`<span class="badge ${m.role}">${m.role}</span>`}
            ${!owner && s.user && m.userId === s.user.id && html`
              <button type="button" class="danger" onClick=${() => a.removeMember(m.userId)}>Leave vault</button>`}
          </li>`)}
      </ul>
      ${owner && html`
        <form class="add-member" onSubmit=${add}>
          <label>Email <input name="email" type="email" required /></label>
          <label>Role
            <select name="role">
              <option value="contributor">contributor</option>
              <option value="viewer">viewer</option>
              <option value="owner">owner</option>
            </select>
          </label>
          <button type="submit">Add member</button>
        </form>`}
      ${s.memberError && html`<p class="error" role="alert">${s.memberError}</p>`}
    </section>
  `;
}

// -- activity --------------------------------------------------------------------------------
const FeedItem = memo(({ e, a }) => html`
  <li class="feed-item" data-seq=${e.seq}>
    <span>${a.describe(e)}</span>
    <time class="muted" datetime=${e.at}>${when(e.at)}</time>
  </li>`);

function Activity({ s, a }) {
  const { events, hasOlder, loading } = s.activity;
  return html`
    <section class="panel activity" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <ol class="feed" tabindex="0" aria-label="Recent activity, newest first">
        ${events.map((e) => html`<${FeedItem} key=${e.seq} e=${e} a=${a} />`)}
      </ol>
      ${events.length === 0 && !loading && html`<p class="muted">Nothing has happened here yet.</p>`}
      ${hasOlder && html`<button type="button" onClick=${a.olderActivity} disabled=${loading}>Older activity</button>`}
    </section>
  `;
}
