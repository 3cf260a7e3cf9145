// Settings › Your data: export everything, import patients from a CSV (preview → import →
// report, rejected rows downloadable), how long message texts are kept, and the erasures.
import { html, useState } from "../lib/html.js";
import { api, token, download, ApiError } from "../lib/api.js";
import { useApp, useData, ErrorBox, Loading, Dialog, toast } from "../lib/ui.js";
import { dateTime, phone as showPhone } from "../lib/format.js";

const SHOWN_ROWS = 300; // a preview table longer than this shows its first rows and every rejected one
const OUTCOME = { new: "New patient", existing: "Already a patient", rejected: "Rejected" };
const KEEP = [["", "Keep forever"], ["30", "30 days"], ["90", "90 days"], ["180", "180 days"], ["365", "1 year"]];

function stamp() {
  return new Date().toISOString().slice(0, 16).replace("T", "-").replace(":", "");
}

// ---- export ----------------------------------------------------------------------------------

function ExportPanel() {
  const [busy, setBusy] = useState(null);
  const get = async (kind) => {
    setBusy(kind);
    try {
      const [path, name] = kind === "csv"
        ? ["/export/csv", `clinicbot-export-${stamp()}.zip`]
        : ["/export/json", `clinicbot-export-${stamp()}.json`];
      await download(path, null, name);
      toast(`Export downloaded: ${name}`);
    } catch (e) {
      toast(`The export failed: ${e.message}`, { bad: true });
    } finally {
      setBusy(null);
    }
  };
  return html`<section class="panel settings-section" aria-label="Export">
    <div class="panel-head"><h2>Export everything</h2></div>
    <div class="panel-body">
      <p class="muted intro">Every patient, appointment (with the doctor and service) and WhatsApp message,
        as spreadsheet files (CSV, one per table, in a zip; Hindi names open correctly in Excel) or as one JSON file
        for another program. Phone numbers are in international form (+91…); times carry their time zone.</p>
      <div class="data-actions">
        <button class="primary" disabled=${busy !== null} onClick=${() => get("csv")}>${busy === "csv" ? "Preparing…" : "Download CSV (zip)"}</button>
        <button disabled=${busy !== null} onClick=${() => get("json")}>${busy === "json" ? "Preparing…" : "Download JSON"}</button>
      </div>
      <p class="muted small-print">The same from a command prompt, while clinicbot runs: <code>clinicbot export --to FOLDER</code> (add <code>--format json</code> for JSON).</p>
    </div>
  </section>`;
}

// ---- import ----------------------------------------------------------------------------------

async function upload(path, clinicId, bytes) {
  const res = await fetch(`/api/v1${path}?clinic_id=${encodeURIComponent(clinicId)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token.get() || ""}`, "Content-Type": "text/csv" },
    body: bytes,
  });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, (body && body.detail) || `The server answered ${res.status}.`, "file");
  return body;
}

function csvCell(value) {
  const text = value == null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function saveRejected(report, fileName) {
  const lines = [[...report.headers, "line", "reason"]];
  for (const r of report.rows) if (r.outcome === "rejected") lines.push([...(r.cells || []), r.line, r.reason]);
  const text = "\ufeff" + lines.map((l) => l.map(csvCell).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `rejected-${fileName.replace(/\.[^.]*$/, "")}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Counts({ c, imported }) {
  return html`<div class="import-counts" aria-label="Counts">
    <span class="chip ok">${c.new} ${imported ? "added" : "new"}</span>
    <span class="chip">${c.existing} already patients</span>
    <span class=${`chip${c.rejected ? " bad" : ""}`}>${c.rejected} rejected</span>
    <span class="muted">${c.rows} rows read</span>
  </div>`;
}

function RowsTable({ report }) {
  const rows = report.rows.length > SHOWN_ROWS
    ? report.rows.filter((r, i) => i < SHOWN_ROWS || r.outcome === "rejected")
    : report.rows;
  return html`<div class="import-rows">
    <table class="grid" aria-label="Rows of the file">
      <thead><tr><th class="num">Line</th><th>Name</th><th>Phone</th><th>Outcome</th><th>Detail</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.line} class=${`outcome-${r.outcome}`}>
        <td class="num">${r.line}</td><td>${r.name || html`<span class="faint">—</span>`}</td>
        <td class="num">${r.phone.startsWith("+") ? showPhone(r.phone) : r.phone}</td>
        <td><span class=${`tag outcome ${r.outcome}`}>${OUTCOME[r.outcome]}</span></td>
        <td>${r.outcome === "rejected" ? r.reason
          : r.outcome === "existing" ? html`<a href=${`#/patients/${r.patient_id}`}>${r.patient_name}</a>` : ""}</td>
      </tr>`)}</tbody>
    </table>
    ${rows.length < report.rows.length && html`<p class="muted">Showing the first ${SHOWN_ROWS} rows and every rejected one, of ${report.rows.length}.</p>`}
  </div>`;
}

function ImportPanel({ clinicId }) {
  const [file, setFile] = useState(null); // { name, bytes }
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const choose = async (e) => {
    const picked = e.target.files && e.target.files[0];
    e.target.value = "";
    if (!picked) return;
    setError(null);
    setReport(null);
    setBusy(true);
    try {
      const bytes = await picked.arrayBuffer();
      setFile({ name: picked.name, bytes });
      setReport(await upload("/import/patients/preview", clinicId, bytes));
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const run = async () => {
    setBusy(true);
    try {
      const done = await upload("/import/patients", clinicId, file.bytes);
      setReport(done);
      toast(`${done.counts.new} patients added from ${file.name}`);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const m = report && report.mapping;
  return html`<section class="panel settings-section" aria-label="Import patients">
    <div class="panel-head"><h2>Import patients</h2></div>
    <div class="panel-body">
      <p class="muted intro">From your old register saved as CSV (a column of names and one of phone numbers; headers in English or Hindi)
        or a phone's contacts export (Google Contacts, Outlook). You see what will happen to every row before anything is added;
        people already here (same phone number) are left as they are.</p>
      <label class="file-pick">
        <span class="btn">${file ? "Choose another file…" : "Choose a CSV file…"}</span>
        <input type="file" accept=".csv,.txt,text/csv" aria-label="CSV file to import" onChange=${choose} disabled=${busy} />
        ${file && html`<span class="muted">${file.name}</span>`}
      </label>
      ${busy && !report && html`<${Loading} what="Reading the file…" />`}
      ${error && html`<div class="notice bad" role="alert">${error}</div>`}
      ${report && html`<section class="import-report" aria-label=${report.imported ? "Import report" : "Import preview"}>
        <h3>${report.imported ? "Imported" : "Preview — nothing added yet"}</h3>
        <${Counts} c=${report.counts} imported=${report.imported} />
        <p class="mapping">Names from <strong>${m.name.join(" + ")}</strong> · phone numbers from <strong>${m.phone.join(", then ")}</strong>
          ${m.ignored.length > 0 && html` · not imported (clinicbot keeps no such field): ${m.ignored.join(", ")}`}
          <span class="muted"> · read as ${report.encoding}, ${report.delimiter}-separated</span></p>
        <div class="data-actions">
          ${!report.imported && html`<button class="primary" disabled=${busy || report.counts.new === 0} onClick=${run}>
            ${report.counts.new === 0 ? "Nothing new to import" : `Import ${report.counts.new} patient${report.counts.new === 1 ? "" : "s"}`}</button>`}
          ${report.counts.rejected > 0 && html`<button onClick=${() => saveRejected(report, file.name)}>Download rejected rows (CSV)</button>`}
        </div>
        <${RowsTable} report=${report} />
      </section>`}
    </div>
  </section>`;
}

// ---- retention -------------------------------------------------------------------------------

function effect(days) {
  if (!days) return "Message texts are kept for as long as clinicbot runs.";
  return `Every day, the text of WhatsApp messages older than ${days} days is removed, both ways. The messages stay in the Inbox
    with their time and status, and say “Message text removed after ${days} days”. Messages not yet answered or sent are never touched.`;
}

function RetentionPanel() {
  const { data, error, reload } = useData((signal) => api.get("/data/retention", null, { signal }), [], { live: false });
  const [choice, setChoice] = useState(null);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const current = data ? String(data.days || "") : "";
  const picked = choice === null ? current : choice;
  const save = async () => {
    setAsking(false);
    setBusy(true);
    try {
      const done = await api.put("/data/retention", { days: picked ? Number(picked) : null });
      const n = done.removed ? done.removed.inbound + done.removed.outbound : 0;
      toast(done.days ? `Saved: texts kept ${done.days} days. ${n} message texts removed now.` : "Saved: message texts are kept forever.");
      setChoice(null);
      reload();
    } catch (e) {
      toast(`Not saved: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="panel settings-section" aria-label="Message texts">
    <div class="panel-head"><h2>Keep message texts</h2></div>
    <div class="panel-body">
      ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
      ${!data && !error && html`<${Loading} />`}
      ${data && html`<div class="inline-form retention-form">
        <label class="field"><span class="label">Keep the text of WhatsApp messages</span>
          <select aria-label="Keep message texts" value=${picked} onChange=${(e) => setChoice(e.target.value)}>
            ${KEEP.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
          </select></label>
        <div class="inline-actions"><button class="primary" disabled=${busy || picked === current}
          onClick=${() => (picked ? setAsking(true) : save())}>Save</button></div>
      </div>
      <p class="retention-effect">${effect(picked)}</p>
      <p class="muted small-print">Saved in the database, so a backup or restore keeps it too.${data.last_run ? ` Last looked at ${dateTime(data.last_run)}.` : ""}</p>`}
      ${asking && html`<${Dialog} title="Remove old message texts?" onClose=${() => setAsking(false)}
        footer=${html`<button onClick=${() => setAsking(false)}>Keep them</button>
          <button class="primary danger-fill" onClick=${save}>Remove texts older than ${picked} days</button>`}>
        <p>The text of every WhatsApp message older than ${picked} days will be removed now, and then every day. This cannot be undone
          (backups still hold them until they age out).</p>
        <p>The messages themselves stay, with their time, direction and status, so the Inbox and the counts are unchanged.</p>
      <//>`}
    </div>
  </section>`;
}

// ---- erasures --------------------------------------------------------------------------------

function ErasuresPanel({ clinicId }) {
  const { data } = useData((signal) => api.get("/data/erasures", { clinic_id: clinicId }, { signal }), [clinicId]);
  return html`<section class="panel settings-section" aria-label="Erasures">
    <div class="panel-head"><h2>Patients erased on request</h2></div>
    <div class="panel-body">
      <p class="muted intro">To erase a patient, open them in Patients and choose “Erase patient…”. Only when, and how much, is recorded here; never who.</p>
      ${data && data.length === 0 && html`<p class="muted">No patient has been erased.</p>`}
      ${data && data.length > 0 && html`<table class="grid" aria-label="Erasures">
        <thead><tr><th>When</th><th class="num">Appointments kept (anonymous)</th><th class="num">Cancelled</th><th class="num">Messages removed</th></tr></thead>
        <tbody>${data.map((e, i) => html`<tr key=${i}><td>${dateTime(e.erased_at)}</td><td class="num">${e.appointments_kept}</td>
          <td class="num">${e.appointments_cancelled}</td><td class="num">${e.messages_removed}</td></tr>`)}</tbody>
      </table>`}
    </div>
  </section>`;
}

export function DataSection() {
  const { clinic } = useApp();
  return html`<div class="stack data-section">
    <${ExportPanel} />
    <${ImportPanel} clinicId=${clinic.id} />
    <${RetentionPanel} />
    <${ErasuresPanel} clinicId=${clinic.id} />
  </div>`;
}
