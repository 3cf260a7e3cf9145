// The printable day list: one A4 page per doctor with times, names, phones, services and a
// column for the doctor's notes. `#/print?date=YYYY-MM-DD&doctor=<id>`.
import { html, useMemo } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useApp, useData, useShortcuts, ErrorBox, Loading } from "../lib/ui.js";
import { navigate, setQuery } from "../lib/router.js";
import { todayIso, longDate, time, phone as showPhone, STATUS_WORDS, SOURCE_WORDS, addDays } from "../lib/format.js";

export default function PrintDay({ route }) {
  const { clinic, doctors, services } = useApp();
  const day = route.query.get("date") || todayIso();
  const only = route.query.get("doctor") || "";
  const { data, error, reload } = useData(
    (signal) => api.get("/appointments", { clinic_id: clinic.id, date: day, limit: 1000 }, { signal }),
    [clinic.id, day],
  );
  const serviceName = useMemo(() => Object.fromEntries(services.map((s) => [s.id, s.name])), [services]);
  const back = () => navigate(`#/today${day === todayIso() ? "" : `?date=${day}`}`);
  useShortcuts("Day list", {
    "Ctrl+p": { label: "Print", run: () => window.print() },
    Escape: { label: "Back to Today", run: back },
    ArrowLeft: { label: "Previous day", run: () => setQuery({ date: addDays(day, -1) }) },
    ArrowRight: { label: "Next day", run: () => setQuery({ date: addDays(day, 1) }) },
  }, [day]);
  const lists = doctors
    .filter((d) => !only || d.id === only)
    .map((d) => ({ doctor: d, rows: (data || []).filter((a) => a.doctor_id === d.id && a.status !== "cancelled") }))
    .filter((x) => x.rows.length || only);

  return html`<div class="page print-day">
    <div class="page-head no-print">
      <button onClick=${back}>‹ Today</button>
      <h1>Day list</h1>
      <input type="date" aria-label="Day" value=${day} onInput=${(e) => e.target.value && setQuery({ date: e.target.value })} />
      <select aria-label="Doctor" value=${only} onChange=${(e) => setQuery({ doctor: e.target.value || null })}>
        <option value="">Every doctor (a page each)</option>
        ${doctors.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
      </select>
      <span class="spacer"></span>
      <button class="primary" onClick=${() => window.print()}>Print <kbd>Ctrl+P</kbd></button>
    </div>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} />`}
    ${data && lists.length === 0 && html`<div class="panel"><div class="empty"><strong>Nobody is booked on ${longDate(day)}.</strong></div></div>`}
    ${lists.map(({ doctor, rows }) => html`<section class="sheet panel" key=${doctor.id} aria-label=${`Day list for ${doctor.name}`}>
      <header class="sheet-head">
        <div><h2>${doctor.name}</h2><div class="muted">${doctor.specialty}</div></div>
        <div class="sheet-meta"><strong>${longDate(day)}</strong><div>${clinic.name}</div>
          <div class="muted">${rows.length} ${rows.length === 1 ? "patient" : "patients"}</div></div>
      </header>
      ${rows.length === 0 ? html`<p class="muted">Nobody is booked with ${doctor.name} on this day.</p>` : html`
      <table class="sheet-table">
        <thead><tr><th>#</th><th>Time</th><th>Patient</th><th>Phone</th><th>Service</th><th>Booked by</th><th>Status</th><th class="notes">Notes</th></tr></thead>
        <tbody>${rows.map((a, i) => html`<tr key=${a.id}>
          <td class="num">${i + 1}</td>
          <td class="num nowrap">${time(a.starts_at)}</td>
          <td><strong>${a.patient_name}</strong>${a.notes ? html`<div class="muted">${a.notes}</div>` : ""}</td>
          <td class="nowrap num">${showPhone(a.patient_phone)}</td>
          <td>${serviceName[a.service_id] || ""}</td>
          <td>${SOURCE_WORDS[a.source] || a.source}</td>
          <td>${STATUS_WORDS[a.status]}</td>
          <td class="notes"></td>
        </tr>`)}</tbody>
      </table>`}
      <footer class="sheet-foot muted">Printed from clinicbot</footer>
    </section>`)}
  </div>`;
}
