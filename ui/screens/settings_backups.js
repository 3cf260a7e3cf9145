// Settings › Backups: the backups kept, "Back up now", and restoring one while clinicbot
// runs (it asks first, in words: what will be lost, and where today's data is kept).
import { html, useState } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useData, ErrorBox, Loading, Dialog, toast } from "../lib/ui.js";
import { dateTime, ago } from "../lib/format.js";

function size(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

// "12 bookings, 3 patients": what was entered since the backup and would be lost.
function lostWords(p) {
  const parts = [];
  if (p.new_appointments) parts.push(plural(p.new_appointments, "booking", "bookings"));
  if (p.new_patients) parts.push(plural(p.new_patients, "patient", "patients"));
  return parts.join(", ");
}

function RestoreDialog({ backup, onClose, onDone }) {
  const { data: p, error } = useData((signal) => api.get("/backups/preview", { name: backup.name }, { signal }), [backup.name], { live: false });
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(null);
  const restore = async () => {
    setBusy(true);
    setFailed(null);
    try {
      const done = await api.post("/backups/restore", { name: backup.name });
      onDone(done);
    } catch (e) {
      setFailed(e.message);
      setBusy(false);
    }
  };
  const when = dateTime(backup.taken_at);
  const lost = p ? lostWords(p) : "";
  const footer = html`<button onClick=${onClose} disabled=${busy}>Keep today's data</button>
    <button class="danger" onClick=${restore} disabled=${!p || busy}>${busy ? "Restoring…" : "Restore this backup"}</button>`;
  return html`<${Dialog} title=${`Restore the backup of ${when}?`} onClose=${() => !busy && onClose()} footer=${footer} wide>
    ${error && html`<div class="notice bad" role="alert">This backup cannot be restored: ${error.message}</div>`}
    ${!p && !error && html`<${Loading} what="Comparing the backup with today's data…" />`}
    ${p && html`<div aria-label="What the restore changes">
      <p><strong>Everything entered after ${when}${lost ? ` — ${lost} —` : ""} will be replaced by the backup's content.</strong></p>
      <ul class="restore-lose">
        ${p.new_appointments !== null && html`<li>${p.new_appointments ? `${plural(p.new_appointments, "booking", "bookings")} made since will be gone.` : "No booking was made since."}</li>`}
        ${p.new_patients ? html`<li>${plural(p.new_patients, "patient", "patients")} added since will be gone.</li>` : ""}
        ${p.changed_appointments ? html`<li>${plural(p.changed_appointments, "appointment", "appointments")} changed since (arrived, done, cancelled, moved) will go back to how they were.</li>` : ""}
        ${p.new_messages ? html`<li>${plural(p.new_messages, "WhatsApp message", "WhatsApp messages")} received since will leave the inbox.</li>` : ""}
        ${p.erased_since ? html`<li class="bad-text">${plural(p.erased_since, "patient", "patients")} erased on request since will come back: erase them again after the restore.</li>` : ""}
        <li>The backup holds ${p.patients ?? "?"} patients and ${p.appointments ?? "?"} appointments.</li>
      </ul>
      <p>A copy of today's data is kept first as <code>before-restore-….db</code> in the backups folder, so this can be undone the same way.
        Messages already sent on WhatsApp stay marked as sent and are not sent again. Open windows reload by themselves.</p>
    </div>`}
    ${failed && html`<div class="notice bad" role="alert">Nothing was changed: ${failed}</div>`}
  <//>`;
}

function BackupTable({ label, list, onRestore }) {
  return html`<table class="grid" aria-label=${label}>
    <thead><tr><th>Taken</th><th>File</th><th class="num">Size</th><th></th></tr></thead>
    <tbody>${list.map((b) => html`<tr key=${b.name}><td>${dateTime(b.taken_at)} <span class="muted">· ${ago(b.taken_at)}</span></td>
      <td class="mono">${b.name}</td><td class="num">${size(b.size)}</td>
      <td class="num"><button class="small" aria-label=${`Restore ${b.name}`} onClick=${() => onRestore(b)}>Restore…</button></td></tr>`)}</tbody>
  </table>`;
}

export function BackupsSection() {
  const { data, error, reload } = useData((signal) => api.get("/backups", null, { signal }), [], { live: false });
  const [busy, setBusy] = useState(false);
  const [restoring, setRestoring] = useState(null);
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
  const restored = (done) => {
    setRestoring(null);
    const held = done.held ? ` ${plural(done.held, "message", "messages")} that may have gone out already wait in the inbox's failed messages: send again only if still needed.` : "";
    toast(`Restored ${done.name}. Today's data is kept as ${done.kept}.${held}`, { ms: 12000 });
    reload();
  };
  const list = data ? data.backups : [];
  const here = new Set(list.map((b) => b.name));
  const copiesOnly = data ? (data.copies || []).filter((b) => !here.has(b.name)) : [];
  const replaced = data ? data.before_restore || [] : [];
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
      ${list.length > 0 && html`<${BackupTable} label="Backups kept" list=${list} onRestore=${setRestoring} />`}
      ${copiesOnly.length > 0 && html`<h3 style="margin-top:16px">Only in the second folder</h3>
        <${BackupTable} label="Backups in the second folder" list=${copiesOnly} onRestore=${setRestoring} />`}
      ${replaced.length > 0 && html`<h3 style="margin-top:16px">Data replaced by a restore</h3>
        <p class="muted">Each restore keeps the data it replaced. Restore one of these to undo a restore.</p>
        <${BackupTable} label="Data replaced by a restore" list=${replaced} onRestore=${setRestoring} />`}
      <h3 style="margin-top:16px">Restoring a backup</h3>
      <p class="muted">“Restore…” on a backup shows what would be lost and asks before changing anything; clinicbot keeps running.
        With clinicbot closed, <code>${`clinicbot restore ${data && data.folder ? data.folder + "/" : ""}<file>`}</code> does the same.</p>
    </div>
    ${restoring && html`<${RestoreDialog} backup=${restoring} onClose=${() => setRestoring(null)} onDone=${restored} />`}
  </section>`;
}
