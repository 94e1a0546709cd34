/*
 * Import and export in the app. Owners and contributors pick a file and its format, read the
 * server's dry run (what would be imported, what skipped and why) and confirm; the import's
 * one `sources:imported` event then makes every open view read the sources again (follow.js).
 * Every member can download an export in each format.
 */

import { html, useState } from "/vendor/preact-htm.js";
import { api, vaultPath } from "/app/follow.js";

const IMPORTS = [
  ["bibtex", "BibTeX"], ["ris", "RIS"], ["bookmarks", "Browser bookmarks (HTML)"],
  ["csv", "CSV"], ["json", "sourcevault JSON"],
];
const EXPORTS = [["json", "JSON"], ["bibtex", "BibTeX"], ["ris", "RIS"], ["csv", "CSV"]];
const BY_EXTENSION = { bib: "bibtex", bibtex: "bibtex", ris: "ris", htm: "bookmarks", html: "bookmarks", csv: "csv", json: "json" };

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function Transfer({ v, canWrite }) {
  return html`
    <section class="panel transfer" aria-labelledby="transfer-title">
      <h2 id="transfer-title">Import and export</h2>
      ${canWrite && html`<${Import} v=${v} />`}
      <p class="exports">Download every source as
        ${EXPORTS.map(([format, name], n) => html`${n ? ", " : " "}<a key=${format} download
          href=${`${vaultPath(v.id)}/export?format=${format}`}>${name}</a>`)}.
      </p>
    </section>`;
}

function Import({ v }) {
  const [file, setFile] = useState(null);
  const [format, setFormat] = useState("bibtex");
  const [check, setCheck] = useState(null); // the dry run's answer, for `file` in `format`
  const [done, setDone] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const path = (dryRun) => `${vaultPath(v.id)}/import?format=${format}${dryRun ? "&dryRun=true" : ""}`;

  const pick = (e) => {
    const chosen = e.currentTarget.files[0] || null;
    setFile(chosen);
    setCheck(null);
    setDone("");
    setError("");
    const ext = chosen && chosen.name.includes(".") ? chosen.name.split(".").pop().toLowerCase() : "";
    if (BY_EXTENSION[ext]) setFormat(BY_EXTENSION[ext]);
  };
  const send = async (dryRun) => {
    setBusy(true);
    setError("");
    try {
      const answer = await api("POST", path(dryRun), file);
      if (dryRun) {
        setCheck(answer);
      } else {
        setCheck(null);
        setDone(`Imported ${plural(answer.import.count, "source")} from ${file.name}.`);
      }
    } catch (err) {
      setCheck(null);
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e) => {
    e.preventDefault();
    if (file) send(true);
  };
  const entries = check ? check.entries : [];
  const fresh = entries.filter((x) => x.status === "new").length;
  const duplicates = entries.filter((x) => x.status === "duplicate");
  const invalid = entries.filter((x) => x.status === "invalid");
  return html`
    <form class="import" onSubmit=${submit}>
      <label>File to import <input name="file" type="file" required onChange=${pick} /></label>
      <label>Format
        <select name="format" value=${format} onChange=${(e) => { setFormat(e.currentTarget.value); setCheck(null); }}>
          ${IMPORTS.map(([value, name]) => html`<option key=${value} value=${value}>${name}</option>`)}
        </select>
      </label>
      <button type="submit" disabled=${busy || !file}>Check file</button>
    </form>
    ${check && html`
      <div class="import-check" role="status">
        <p class="import-summary">
          ${plural(fresh, "source")} to import, ${plural(duplicates.length, "duplicate")}, ${invalid.length} invalid.
        </p>
        ${duplicates.length + invalid.length > 0 && html`
          <ul class="skipped">${[...duplicates, ...invalid].map((x) => html`
            <li key=${x.index}>${x.title || `entry ${x.index + 1}`}: ${x.reason}</li>`)}
          </ul>`}
        <button type="button" onClick=${() => send(false)} disabled=${busy || fresh === 0}>
          Import ${plural(fresh, "source")}
        </button>
        <button type="button" onClick=${() => setCheck(null)}>Cancel</button>
      </div>`}
    ${done && html`<p class="import-done" role="status">${done}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}`;
}
