// Settings › Health: is the installation all right, line by line, in plain words, with what
// to do when a line is not. From GET /status; it reloads on every change the live feed
// reports, and every 30 s (free disk and backups change without a database commit).
import { html, useState, useEffect } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useData, ErrorBox, Loading, toast } from "../lib/ui.js";
import { dateTime, ago } from "../lib/format.js";

const POLL_MS = 30000;

export function bytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

// "3 days", "5 hours", "12 minutes": how long since `iso`, for a sentence.
function since(iso, now) {
  const minutes = Math.max(0, Math.round((now - Date.parse(iso)) / 60000));
  if (minutes >= 2 * 1440) return `${Math.floor(minutes / 1440)} days`;
  if (minutes >= 120) return `${Math.floor(minutes / 60)} hours`;
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

// "2 h ago (25 Nov 2026, 6:02 am)", or only the date when it is days ago.
function when(iso) {
  const a = ago(iso);
  return /ago|now/.test(a) ? `${a} (${dateTime(iso)})` : dateTime(iso);
}

const STATE_WORDS = { ok: "Fine", warn: "Check", bad: "Needs attention", info: "Note" };

function Line({ title, state, children, action }) {
  return html`<li class=${`health-line ${state}`} aria-label=${title}>
    <span class=${`health-state ${state}`}>${STATE_WORDS[state]}</span>
    <div class="health-text"><strong>${title}</strong><div>${children}</div></div>
    ${action && html`<div class="health-action">${action}</div>`}
  </li>`;
}

function Messages({ s }) {
  if (!s.last_message_at) {
    return html`<${Line} title="WhatsApp messages received" state="info">
      No WhatsApp message has arrived yet. Once the clinic's number is connected (Settings › WhatsApp), patients' messages show here.<//>`;
  }
  const via = s.last_message_via === "relay" ? "through the relay" : "through the webhook";
  return html`<${Line} title="WhatsApp messages received" state="ok">
    The last one arrived ${when(s.last_message_at)}, ${via}.<//>`;
}

function Waiting({ s, now }) {
  if (!s.backlog) return html`<${Line} title="Messages waiting to go out" state="ok">None: every reply has gone out.<//>`;
  const stuck = s.attention.includes("waiting");
  const oldest = s.oldest_waiting_at ? `; the oldest has waited ${since(s.oldest_waiting_at, now)}` : "";
  return html`<${Line} title="Messages waiting to go out" state=${stuck ? "bad" : "warn"}
    action=${html`<a class="btn small" href="#/settings?section=whatsapp">WhatsApp settings</a>`}>
    ${s.backlog} ${s.backlog === 1 ? "message is" : "messages are"} waiting${oldest}.
    ${stuck ? " WhatsApp may be unreachable: check the internet connection and the WhatsApp settings. Nothing is lost; they go out once it answers." : " They go out in a moment."}<//>`;
}

function Failed({ s }) {
  if (!s.failed) return html`<${Line} title="Messages that failed" state="ok">None.<//>`;
  return html`<${Line} title="Messages that failed" state="bad"
    action=${html`<a class="btn small" href="#/inbox?failed=1">See failed messages</a>`}>
    WhatsApp would not take ${s.failed} ${s.failed === 1 ? "message" : "messages"}. Open them in the inbox to read why, and send again or call the patient.<//>`;
}

function BackupLine({ s, now, onBackUp, busy }) {
  const button = html`<button class="small" disabled=${busy} onClick=${onBackUp}>${busy ? "Backing up…" : "Back up now"}</button>`;
  const failing = s.backup_error ? ` — the last attempt failed: ${s.backup_error}` : "";
  if (!s.last_backup_at) {
    const state = s.attention.includes("backup_old") || s.backup_error ? "bad" : "warn";
    return html`<${Line} title="Backups" state=${state} action=${button}>
      No backup yet${failing || ". The first daily backup is made a few minutes after clinicbot starts"}.<//>`;
  }
  const old = s.attention.includes("backup_old");
  if (old || s.backup_error) {
    const age = old ? `No backup for ${since(s.last_backup_at, now)}` : `The last backup was made ${when(s.last_backup_at)}`;
    return html`<${Line} title="Backups" state="bad" action=${button}>${age}${failing || ""}. Back up now.<//>`;
  }
  return html`<${Line} title="Backups" state="ok"
    action=${html`<a class="btn small ghost" href="#/settings?section=backups">Backups</a>`}>
    The last backup was made ${when(s.last_backup_at)} and checked.<//>`;
}

function CopyFolder({ s }) {
  if (!s.copy_folder) {
    return html`<${Line} title="Second copy (USB drive or network folder)" state="info">
      Not set. A copy outside this PC survives a broken disk: set <code>CLINICBOT_BACKUP_COPY_DIR</code> to a USB drive or network folder.<//>`;
  }
  if (s.copy_folder_problem) {
    return html`<${Line} title="Second copy (USB drive or network folder)" state="bad">
      ${s.copy_folder_problem} Backups are still kept on this PC; plug the drive in (or fix the folder) and back up again.<//>`;
  }
  const last = s.last_copy_at ? `; the newest copy was made ${when(s.last_copy_at)}` : "; no copy in it yet";
  return html`<${Line} title="Second copy (USB drive or network folder)" state="ok">
    Copies go to <code>${s.copy_folder}</code>${last}.<//>`;
}

function Disk({ s }) {
  if (s.disk_low) {
    return html`<${Line} title="Free disk space" state="bad">
      Only ${bytes(s.disk_free_bytes)} free where clinicbot keeps its data. Under 1 GB, backups and new bookings may fail: delete or move large files off this disk.<//>`;
  }
  return html`<${Line} title="Free disk space" state="ok">${bytes(s.disk_free_bytes)} free.<//>`;
}

export function HealthSection() {
  const { data: s, error, reload } = useData((signal) => api.get("/status", null, { signal }), []);
  const [busy, setBusy] = useState(false);
  useEffect(() => { const t = setInterval(reload, POLL_MS); return () => clearInterval(t); }, []);
  const backUp = async () => {
    setBusy(true);
    try {
      const made = await api.post("/backups");
      toast(`Backup written and checked: ${made.name} (${bytes(made.size)})`);
    } catch (e) {
      toast(`No backup made: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
      reload();
    }
  };
  const now = s ? Date.parse(s.checked_at) || Date.now() : Date.now();
  const problems = s ? s.attention.length : 0;
  return html`<section class="panel settings-section" aria-label="Health">
    <div class="panel-head"><h2>Health</h2><span class="spacer"></span>
      <button class="small ghost" onClick=${reload}>Check again</button></div>
    <div class="panel-body">
      ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
      ${!s && !error && html`<${Loading} />`}
      ${s && html`<p class=${problems ? "notice warn" : "notice"} role="status" aria-label="Overall health">
        ${problems ? `${problems} ${problems === 1 ? "thing needs" : "things need"} attention.` : "All is well."}
        <span class="muted"> Checked ${dateTime(s.checked_at)}.</span></p>
      <ul class="health-list" aria-label="Health checks">
        <${Messages} s=${s} />
        <${Waiting} s=${s} now=${now} />
        <${Failed} s=${s} />
        <${BackupLine} s=${s} now=${now} onBackUp=${backUp} busy=${busy} />
        <${CopyFolder} s=${s} />
        <${Disk} s=${s} />
      </ul>
      <table class="grid health-facts" aria-label="About this installation"><tbody>
        <tr><th>Database</th><td>${bytes(s.database_bytes)}</td></tr>
        <tr><th>Data folder</th><td class="mono">${s.data_dir}</td></tr>
        <tr><th>Log folder</th><td class="mono">${s.log_dir}</td></tr>
        <tr><th>clinicbot version</th><td>${s.version}</td></tr>
      </tbody></table>`}
    </div>
  </section>`;
}
