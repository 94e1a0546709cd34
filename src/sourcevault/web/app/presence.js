/*
 * Who is here: the users who have the open vault open right now, one line each however many
 * tabs. follow.js keeps the list (the join ack, then presence:joined / presence:left); a role
 * is read from the members panel's list, which follows member changes.
 */

import { html } from "/vendor/preact-htm.js";

export function Here({ s, v }) {
  const roles = new Map(s.members.map((m) => [m.userId, m.role]));
  const here = [...(v.presence || new Map()).values()];
  return html`
    <section class="panel here" aria-labelledby="here-title">
      <h2 id="here-title">Here now</h2>
      <ul class="here-list" aria-live="polite">
        ${here.map((p) => {
          const role = roles.get(p.userId) || p.role;
          return html`
            <li key=${p.userId} class="here-user" data-user-id=${p.userId}>
              <span class="here-name">${p.userName}${s.user && p.userId === s.user.id ? " (you)" : ""}</span>
              ${role && html`<span class="badge ${role}">${role}</span>`}
            </li>`;
        })}
      </ul>
    </section>
  `;
}
