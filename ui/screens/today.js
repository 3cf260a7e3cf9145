// Today: every doctor's queue for the day, the next patient marked, counts on top, and
// one key per action on the selected row (a arrived, c completed, x no-show, Del cancel),
// each with Undo. WhatsApp bookings appear by themselves.
import { html, useState, useEffect, useRef, useMemo } from "../lib/html.js";
import { api } from "../lib/api.js";
import {
  useApp, useData, useShortcuts, StatusLabel, SourceTag, Empty, ErrorBox, Loading, toast,
} from "../lib/ui.js";
import { BookingDialog } from "../lib/booking.js";
import { setQuery, navigate } from "../lib/router.js";
import { todayIso, addDays, longDate, time, phone as showPhone, STATUS_WORDS } from "../lib/format.js";

const ACTIONS = {
  arrived: { key: "a", verb: "Arrived", done: "marked arrived" },
  completed: { key: "c", verb: "Done", done: "marked completed" },
  no_show: { key: "x", verb: "No-show", done: "marked no-show" },
  cancelled: { key: "Delete", verb: "Cancel", done: "cancelled" },
};
// Which one-click buttons a row shows, by status (every move is still possible by key).
const BUTTONS = {
  confirmed: ["arrived", "no_show", "cancelled"],
  arrived: ["completed", "no_show"],
  completed: [],
  no_show: ["arrived"],
  cancelled: [],
};

function counts(rows) {
  const c = { booked: 0, arrived: 0, completed: 0, no_show: 0, cancelled: 0, confirmed: 0 };
  for (const a of rows) {
    c[a.status] += 1;
    if (a.status !== "cancelled") c.booked += 1;
  }
  return c;
}

export default function Today({ route }) {
  const app = useApp();
  const { clinic, doctors, services } = app;
  const today = todayIso();
  const day = route.query.get("date") || today;
  const doctorFilter = route.query.get("doctor") || "";
  const [showCancelled, setShowCancelled] = useState(false);
  const [selected, setSelected] = useState(null);
  const [dialog, setDialog] = useState(null); // { kind: "book" | "move", ... }
  const [pending, setPending] = useState({}); // id -> status, shown at once before the server answers
  const known = useRef(null);
  const [fresh, setFresh] = useState(new Set());

  const { data, error, reload } = useData(
    (signal) => api.get("/appointments", { clinic_id: clinic.id, date: day, limit: 1000 }, { signal }),
    [clinic.id, day],
  );

  // Rows that arrived since the last look (a WhatsApp booking) get a quiet highlight.
  useEffect(() => {
    if (!data) return;
    const ids = new Set(data.map((a) => a.id));
    if (known.current && known.current.day === day) {
      const added = data.filter((a) => !known.current.ids.has(a.id)).map((a) => a.id);
      if (added.length) setFresh(new Set(added));
    }
    known.current = { day, ids };
  }, [data]);

  const serviceName = useMemo(() => Object.fromEntries(services.map((s) => [s.id, s.name])), [services]);
  const rows = useMemo(() => (data || []).map((a) => (pending[a.id] ? { ...a, status: pending[a.id] } : a)), [data, pending]);
  const shownDoctors = doctors.filter((d) => (d.active || rows.some((a) => a.doctor_id === d.id)) && (!doctorFilter || d.id === doctorFilter));
  const byDoctor = useMemo(() => {
    const m = new Map(shownDoctors.map((d) => [d.id, []]));
    for (const a of rows) {
      if (!m.has(a.doctor_id)) continue;
      if (a.status === "cancelled" && !showCancelled) continue;
      m.get(a.doctor_id).push(a);
    }
    return m;
  }, [rows, showCancelled, doctorFilter, doctors]);
  const order = [...byDoctor.values()].flat();
  const c = counts(rows.filter((a) => !doctorFilter || a.doctor_id === doctorFilter));

  // The next patient per doctor: someone waiting, else the first booked one still to come.
  const next = useMemo(() => {
    const out = new Set();
    const now = Date.now();
    for (const list of byDoctor.values()) {
      const waiting = list.find((a) => a.status === "arrived");
      const coming = list.find((a) => a.status === "confirmed" && new Date(a.ends_at).getTime() > now);
      const pick = waiting || coming;
      if (pick && day === today) out.add(pick.id);
    }
    return out;
  }, [byDoctor, day]);

  useEffect(() => {
    if (selected && !order.some((a) => a.id === selected)) setSelected(null);
  }, [data, showCancelled]);

  async function setStatus(a, status) {
    if (!a || a.status === status) return;
    const before = a.status;
    setPending((p) => ({ ...p, [a.id]: status }));
    try {
      await api.patch(`/appointments/${a.id}`, { status });
      toast(`${a.patient_name} ${ACTIONS[status]?.done || `set to ${STATUS_WORDS[status]}`}`, {
        undo: async () => {
          setPending((p) => ({ ...p, [a.id]: before }));
          try {
            await api.patch(`/appointments/${a.id}`, { status: before });
            toast(`Undone: ${a.patient_name} is ${STATUS_WORDS[before].toLowerCase()} again`);
          } catch (e) {
            toast(`Could not undo: ${e.message}`, { bad: true });
          } finally {
            reload();
          }
        },
      });
    } catch (e) {
      toast(`Could not change ${a.patient_name}: ${e.message}`, { bad: true });
    } finally {
      reload();
    }
  }
  // Once fresh data arrives, it replaces what was shown optimistically.
  useEffect(() => { setPending((p) => (Object.keys(p).length ? {} : p)); }, [data]);

  const current = order.find((a) => a.id === selected) || null;
  const move = (delta) => {
    if (!order.length) return;
    const i = order.findIndex((a) => a.id === selected);
    const j = i < 0 ? (delta > 0 ? 0 : order.length - 1) : Math.max(0, Math.min(order.length - 1, i + delta));
    setSelected(order[j].id);
    const el = document.getElementById(`appt-${order[j].id}`);
    if (el) el.scrollIntoView({ block: "nearest" });
  };
  const book = (extra = {}) => setDialog({ kind: "book", initial: { date: day, doctor_id: doctorFilter || undefined, ...extra } });

  useShortcuts("Today", {
    n: { label: "New booking (walk-in or phone)", run: () => book() },
    ArrowLeft: { label: "Previous day", run: () => setQuery({ date: addDays(day, -1) }) },
    ArrowRight: { label: "Next day", run: () => setQuery({ date: addDays(day, 1) }) },
    t: { label: "Back to today", run: () => setQuery({ date: null }) },
    ArrowDown: { label: "Select the next row", run: () => move(1) },
    ArrowUp: { label: "Select the previous row", run: () => move(-1) },
    j: { label: "", run: () => move(1) },
    k: { label: "", run: () => move(-1) },
    a: { label: "Selected: arrived", run: () => current && setStatus(current, "arrived") },
    c: { label: "Selected: completed", run: () => current && setStatus(current, "completed") },
    x: { label: "Selected: no-show", run: () => current && setStatus(current, "no_show") },
    Delete: { label: "Selected: cancel (with undo)", run: () => current && setStatus(current, "cancelled") },
    r: { label: "Selected: move to another time", run: () => current && setDialog({ kind: "move", appointment: current }) },
    Enter: { label: "Selected: open the patient", run: () => current && current.patient_id && navigate(`#/patients/${current.patient_id}`) },
    p: { label: "Print the day list", run: () => navigate(`#/print?date=${day}${doctorFilter ? `&doctor=${doctorFilter}` : ""}`) },
  }, [day, order, selected, current, doctorFilter]);

  return html`<div class="page today">
    <div class="page-head">
      <h1>${day === today ? "Today" : longDate(day)}</h1>
      ${day === today && html`<span class="muted">${longDate(day)}</span>`}
      <div class="btn-group" role="group" aria-label="Day">
        <button aria-label="Previous day" title="Previous day (←)" onClick=${() => setQuery({ date: addDays(day, -1) })}>‹</button>
        <button aria-pressed=${day === today} title="Today (t)" onClick=${() => setQuery({ date: null })}>Today</button>
        <button aria-label="Next day" title="Next day (→)" onClick=${() => setQuery({ date: addDays(day, 1) })}>›</button>
      </div>
      <input type="date" aria-label="Go to day" value=${day} onInput=${(e) => e.target.value && setQuery({ date: e.target.value === today ? null : e.target.value })} />
      <select aria-label="Doctor" value=${doctorFilter} onChange=${(e) => setQuery({ doctor: e.target.value || null })}>
        <option value="">All doctors</option>
        ${doctors.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
      </select>
      <span class="spacer"></span>
      <a class="btn" href=${`#/print?date=${day}${doctorFilter ? `&doctor=${doctorFilter}` : ""}`} title="Print the day list (p)">Print</a>
      <button class="primary" onClick=${() => book()} title="New booking (n)">+ New booking <kbd>n</kbd></button>
    </div>

    <div class="cards today-counts" aria-label="Counts for the day">
      <div class="card"><div class="label">Booked</div><div class="value">${c.booked}</div></div>
      <div class="card"><div class="label">Still to come</div><div class="value">${c.confirmed}</div></div>
      <div class="card"><div class="label">Waiting (arrived)</div><div class="value">${c.arrived}</div></div>
      <div class="card"><div class="label">Done</div><div class="value">${c.completed}</div></div>
      <div class="card"><div class="label">No-show</div><div class="value">${c.no_show}</div></div>
      <div class="card"><div class="label">Cancelled</div><div class="value">${c.cancelled}</div>
        ${c.cancelled > 0 && html`<label class="check sub"><input type="checkbox" checked=${showCancelled} onChange=${(e) => setShowCancelled(e.target.checked)} /> show in the lists</label>`}</div>
    </div>

    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} what="Loading the day…" />`}
    ${data && shownDoctors.length === 0 && html`<div class="panel"><${Empty} title="No doctors yet">Add the clinic's doctors in <a href="#/settings?section=doctors">Settings</a>.<//></div>`}
    ${data && shownDoctors.map((d) => {
      const list = byDoctor.get(d.id) || [];
      const left = list.filter((a) => a.status === "confirmed" || a.status === "arrived").length;
      return html`<section class="panel queue" key=${d.id} aria-label=${`${d.name}'s queue`}>
        <div class="panel-head">
          <h2>${d.name}</h2><span class="muted">${d.specialty}</span>
          <span class="muted queue-count">${list.length} ${list.length === 1 ? "patient" : "patients"}${left ? ` · ${left} to see` : ""}</span>
          <button class="small" style="margin-left:auto" onClick=${() => book({ doctor_id: d.id })}>+ Book with ${d.name.replace(/^Dr\.?\s*/, "Dr ")}</button>
        </div>
        ${list.length === 0
          ? html`<${Empty} title=${`No appointments for ${d.name}${day === today ? " today" : ""}`}>Book a walk-in with <kbd>n</kbd>.<//>`
          : html`<table class="grid">
            <thead><tr><th style="width:92px">Time</th><th>Patient</th><th>Service</th><th>Booked by</th><th>Status</th><th class="actions"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              ${list.map((a) => html`<tr id=${`appt-${a.id}`} key=${a.id}
                  class=${[a.id === selected && "selected", fresh.has(a.id) && "flash", next.has(a.id) && "next", a.status === "cancelled" && "is-cancelled"].filter(Boolean).join(" ")}
                  aria-selected=${a.id === selected} onClick=${() => setSelected(a.id)}
                  onDblClick=${() => a.patient_id && navigate(`#/patients/${a.patient_id}`)}>
                <td class="num nowrap"><strong>${time(a.starts_at)}</strong>${next.has(a.id) && html` <span class="next-tag">Next</span>`}</td>
                <td><a href=${`#/patients/${a.patient_id}`} onClick=${(e) => e.stopPropagation()}>${a.patient_name}</a>
                  <div class="muted small-line">${showPhone(a.patient_phone)}${a.notes ? ` · ${a.notes}` : ""}</div></td>
                <td>${serviceName[a.service_id] || ""}</td>
                <td><${SourceTag} source=${a.source} /></td>
                <td><${StatusLabel} status=${a.status} /></td>
                <td class="actions">
                  ${BUTTONS[a.status].map((s) => html`<button class=${`small${s === "cancelled" ? " danger" : ""}`}
                    title=${`${ACTIONS[s].verb} (${ACTIONS[s].key === "Delete" ? "Del" : ACTIONS[s].key})`}
                    onClick=${(e) => { e.stopPropagation(); setSelected(a.id); setStatus(a, s); }}>${ACTIONS[s].verb}</button>`)}
                  ${(a.status === "confirmed") && html`<button class="small ghost" title="Move (r)" onClick=${(e) => { e.stopPropagation(); setDialog({ kind: "move", appointment: a }); }}>Move</button>`}
                  ${(a.status === "completed" || a.status === "cancelled") && html`<button class="small ghost" title="Back to confirmed"
                    onClick=${(e) => { e.stopPropagation(); setStatus(a, "confirmed"); }}>Reopen</button>`}
                </td>
              </tr>`)}
            </tbody>
          </table>`}
      </section>`;
    })}
    ${data && rows.length > 0 && html`<p class="muted hint-line">Select a row (click or <kbd>↑</kbd><kbd>↓</kbd>), then <kbd>a</kbd> arrived · <kbd>c</kbd> completed · <kbd>x</kbd> no-show · <kbd>Del</kbd> cancel · <kbd>r</kbd> move. <kbd>?</kbd> shows every shortcut.</p>`}

    ${dialog && dialog.kind === "book" && html`<${BookingDialog} initial=${dialog.initial} onClose=${() => setDialog(null)} onDone=${(a) => { setSelected(a.id); reload(); }} />`}
    ${dialog && dialog.kind === "move" && html`<${BookingDialog} appointment=${dialog.appointment} onClose=${() => setDialog(null)} onDone=${() => reload()} />`}
  </div>`;
}
