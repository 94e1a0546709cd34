/*
 * Invite links in the app: the owners' panel in a vault (make a link, see it once, copy it,
 * list and revoke links) and the screen an opened link shows (`/invite#token=...`): what
 * the invite is for, then Join once signed in or up. The token stays in the fragment, which
 * never reaches a server log; it is dropped from the address bar once the invite is settled.
 */

import { html, useEffect, useState } from "/vendor/preact-htm.js";
import { api, vaultPath } from "/app/follow.js";

const EXPIRIES = [
  ["", "never"],
  ["3600", "in an hour"],
  ["86400", "in a day"],
  ["604800", "in a week"],
  ["2592000", "in 30 days"],
];

function when(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** The token of the invite link this page was opened with, or null. */
export function inviteToken() {
  if (location.pathname !== "/invite") return null;
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : "";
}

/** What an invite link's holder may see before joining: {preview} or {error, gone}. */
export async function previewInvite(token) {
  if (!token) return { error: "This invite link is incomplete: it carries no token.", gone: false };
  try {
    return { preview: await api("GET", `/api/invites/preview?token=${encodeURIComponent(token)}`) };
  } catch (err) {
    return { error: goneInWords(err), gone: err.status === 410 };
  }
}

function goneInWords(err) {
  if (err.status === 410) return `${err.message}. Ask an owner of the vault for a new link.`;
  if (err.status === 404) return "This invite link is not valid: it may be mistyped, or its vault deleted.";
  return err.message;
}

function Preview({ p }) {
  return html`
    <p class="invite-preview"><strong>${p.inviterName}</strong> invites you to the vault <strong class="invite-vault">${p.vaultName}</strong> as <span class="badge ${p.role}">${p.role}</span>${p.expiresAt ? ` (until ${when(p.expiresAt)})` : ""}.</p>`;
}

/** Above the sign-in form: what the link is for, or why it no longer works. */
export function InviteNote({ invite }) {
  if (invite.error) return html`<p class="error invite-gone" role="alert">${invite.error}</p>`;
  if (!invite.preview) return html`<p class="muted" role="status">Reading the invite…</p>`;
  return html`
    <div class="invite-note">
      <${Preview} p=${invite.preview} />
      <p>Sign in, or create an account, to join.</p>
    </div>`;
}

/** Signed in with an invite link open: join, or see why not. */
export function InviteScreen({ s, a }) {
  const invite = s.invite;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const join = async () => {
    setBusy(true);
    setError("");
    try {
      await a.acceptInvite(invite.token);
    } catch (err) {
      setError(goneInWords(err));
      setBusy(false);
    }
  };
  // Already a member wins over a gone link: the server lets a member in whatever the link.
  useEffect(() => {
    if (invite.gone) a.acceptInvite(invite.token).catch(() => {});
  }, [invite.token, invite.gone]);
  return html`
    <section class="panel narrow invite-screen" aria-labelledby="invite-title">
      <h1 id="invite-title">Invitation</h1>
      ${invite.error
        ? html`<p class="error invite-gone" role="alert">${invite.error}</p>`
        : invite.preview
          ? html`
            <${Preview} p=${invite.preview} />
            <button type="button" onClick=${join} disabled=${busy}>Join “${invite.preview.vaultName}”</button>`
          : html`<p class="muted" role="status">Reading the invite…</p>`}
      ${error && html`<p class="error invite-gone" role="alert">${error}</p>`}
      <p><button type="button" class="link" onClick=${a.dropInvite}>Go to your vaults</button></p>
    </section>`;
}

// -- the owners' panel ---------------------------------------------------------------------
export function InvitesPanel({ v }) {
  const [invites, setInvites] = useState([]);
  const [made, setMade] = useState(null); // the link just made, shown this once
  const [copied, setCopied] = useState("");
  const [error, setError] = useState("");
  const path = `${vaultPath(v.id)}/invites`;
  const load = async () => {
    try {
      setInvites((await api("GET", path)).invites);
    } catch (err) {
      setError(err.message);
    }
  };
  useEffect(() => {
    load();
  }, [v.id]);

  const make = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const body = { role: form.role.value };
    if (form.expires.value) body.expiresInSeconds = Number(form.expires.value);
    if (form.uses.value) body.maxUses = Number(form.uses.value);
    setError("");
    setCopied("");
    try {
      setMade((await api("POST", path, body)).invite);
      form.reset();
      await load();
    } catch (err) {
      setError(err.message);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(made.url);
      setCopied("Copied.");
    } catch {
      document.getElementById("invite-url").select();
      setCopied("Selected: copy it with Ctrl+C (or ⌘C).");
    }
  };
  const revoke = async (invite) => {
    setError("");
    try {
      await api("DELETE", `/api/invites/${encodeURIComponent(invite.id)}`);
      if (made && made.id === invite.id) setMade(null);
      await load();
    } catch (err) {
      setError(err.message);
    }
  };
  const now = Date.now();
  return html`
    <section class="panel invites" aria-labelledby="invites-title">
      <h2 id="invites-title">Invite links</h2>
      <form class="make-invite" onSubmit=${make}>
        <label>Role
          <select name="role">
            <option value="contributor">contributor</option>
            <option value="viewer">viewer</option>
            <option value="owner">owner</option>
          </select>
        </label>
        <label>Expires
          <select name="expires">${EXPIRIES.map(([value, text]) => html`<option key=${value} value=${value}>${text}</option>`)}</select>
        </label>
        <label>Most uses <input name="uses" type="number" min="1" max="10000" placeholder="no limit" /></label>
        <button type="submit">Make link</button>
      </form>
      ${made && html`
        <div class="invite-made" role="status">
          <label for="invite-url">New ${made.role} link: copy it now, it is shown only this once</label>
          <input id="invite-url" readonly value=${made.url} onFocus=${(e) => e.currentTarget.select()} />
          <button type="button" onClick=${copy}>Copy link</button>
          <span class="muted">${copied}</span>
        </div>`}
      ${invites.length === 0
        ? html`<p class="muted">No invite links.</p>`
        : html`
          <ul class="invite-list">${invites.map((i) => {
            const expired = i.expiresAt && new Date(i.expiresAt).getTime() <= now;
            const usedUp = i.maxUses !== null && i.uses >= i.maxUses;
            return html`
              <li key=${i.id} class="invite" data-invite-id=${i.id}>
                <span class="badge ${i.role}">${i.role}</span>
                <span class="muted">${[
                  `${i.uses} of ${i.maxUses === null ? "unlimited" : i.maxUses} uses`,
                  i.expiresAt ? `${expired ? "expired" : "expires"} ${when(i.expiresAt)}` : "no expiry",
                  ...(usedUp ? ["used up"] : []),
                  `by ${i.createdBy.userName}`,
                ].join(" · ")}</span>
                <button type="button" class="danger" onClick=${() => revoke(i)}
                  aria-label=${`Revoke the ${i.role} link made ${when(i.createdAt)}`}>Revoke</button>
              </li>`;
          })}</ul>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}
