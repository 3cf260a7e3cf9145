// Settings › Backups: the backups kept, "Back up now", and how to restore.
import { html, useState } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useData, ErrorBox, Loading, toast } from "../lib/ui.js";
import { dateTime, ago } from "../lib/format.js";

function size(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

export function BackupsSection() {
  const { data, error, reload } = useData((signal) => api.get("/backups", null, { signal }), [], { live: false });
  const [busy, setBusy] = useState(false);
  const now = async () => {
    setBusy(true);
    try {
      const made = await api.post("/backups");
      toast(`Backup written and checked: ${made.name} (${size(made.size)})`);
      reload();
    } catch (e) {
      toast(`No backup made: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
    }
  };
  const list = data ? data.backups : [];
  return html`<section class="panel settings-section" aria-label="Backups">
    <div class="panel-head"><h2>Backups</h2><span class="spacer"></span>
      <button class="primary" disabled=${busy} onClick=${now}>${busy ? "Backing up…" : "Back up now"}</button></div>
    <div class="panel-body">
      <p class="muted intro">clinicbot backs the database up once a day by itself, while the clinic keeps working, and checks every copy.
        It keeps one a day for a week, one a week for a month and one a month for a year.</p>
      ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
      ${!data && !error && html`<${Loading} />`}
      ${data && html`<p>Kept in <code>${data.folder}</code>${data.copy_folder ? html`, and copied to <code>${data.copy_folder}</code>` : ""}.</p>`}
      ${data && !data.copy_folder && html`<p class="muted">To keep a second copy on a USB drive or a network folder, set <code>CLINICBOT_BACKUP_COPY_DIR</code> to that folder.</p>`}
      ${data && data.last_error && html`<div class="notice bad" role="alert">The last daily backup failed: ${data.last_error}</div>`}
      ${data && list.length === 0 && html`<div class="empty"><strong>No backups yet</strong>The first daily backup is made a few minutes after clinicbot starts, or now with “Back up now”.</div>`}
      ${list.length > 0 && html`<table class="grid" aria-label="Backups kept">
        <thead><tr><th>Taken</th><th>File</th><th class="num">Size</th></tr></thead>
        <tbody>${list.map((b) => html`<tr key=${b.name}><td>${dateTime(b.taken_at)} <span class="muted">· ${ago(b.taken_at)}</span></td>
          <td class="mono">${b.name}</td><td class="num">${size(b.size)}</td></tr>`)}</tbody>
      </table>`}
      <h3 style="margin-top:16px">Restoring a backup</h3>
      <p class="muted">Close clinicbot, then run <code>clinicbot restore ${data && data.folder ? data.folder + "/" : ""}&lt;file&gt;</code>.
        The database it replaces is kept beside the backups first, so a restore can be undone.</p>
    </div>
  </section>`;
}
