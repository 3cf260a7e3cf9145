// The calendar: one doctor's day or week on a time grid. Working hours (the rest shaded),
// time off (striped, with its reason), appointments as blocks, and the free slots of a
// chosen service as light cells: click one to book, drop an appointment on one to move it
// (with Undo). `#/calendar?doctor=<id>&view=week|day&date=YYYY-MM-DD&service=<id>`.
import { html, useState, useEffect, useMemo, useRef } from "../lib/html.js";
import { api } from "../lib/api.js";
import {
  useApp, useData, useShortcuts, StatusLabel, SourceTag, Dialog, Empty, ErrorBox, Loading, toast,
} from "../lib/ui.js";
import { BookingDialog } from "../lib/booking.js";
import { setQuery, navigate } from "../lib/router.js";
import {
  todayIso, addDays, mondayOf, weekdayIndex, weekdayName, minutesOfDay, longDate, shortDate, time,
  phone as showPhone, WEEKDAYS, STATUS_WORDS,
} from "../lib/format.js";

const REMEMBER = "clinicbot.calendar"; // the last doctor/view/day, for coming back to the screen
const MOVABLE = new Set(["confirmed", "arrived"]); // what the server lets staff reschedule
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

// ---- time arithmetic, in minutes of the clinic's day ------------------------------------------

const clockMinutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };

/** Minutes of an instant on `day` (clinic time): 0 if it falls before, 1440 if after. */
function minutesOn(iso, day) {
  const d = todayIso(new Date(iso));
  if (d < day) return 0;
  if (d > day) return 1440;
  return minutesOfDay(iso);
}

function span(a) {
  const from = minutesOfDay(a.starts_at);
  return { from, to: Math.max(from + 5, minutesOn(a.ends_at, a.date)) };
}

function workingOn(hours, day) {
  const wd = weekdayIndex(day);
  return hours.filter((h) => h.weekday === wd)
    .map((h) => ({ from: clockMinutes(h.start_time), to: clockMinutes(h.end_time) }))
    .filter((w) => w.to > w.from)
    .sort((a, b) => a.from - b.from);
}

function offOn(timeOff, day) {
  return timeOff.map((t) => ({ t, from: minutesOn(t.starts_at, day), to: minutesOn(t.ends_at, day) }))
    .filter((x) => x.to > x.from);
}

/** The rows to draw: from the doctor's earliest start to latest end, whole hours. */
function gridRange(hours, appointments) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const h of hours) { lo = Math.min(lo, clockMinutes(h.start_time)); hi = Math.max(hi, clockMinutes(h.end_time)); }
  for (const a of appointments) { const s = span(a); lo = Math.min(lo, s.from); hi = Math.max(hi, s.to); }
  if (!Number.isFinite(lo)) { lo = 9 * 60; hi = 18 * 60; }
  return { lo: Math.floor(lo / 60) * 60, hi: Math.min(1440, Math.ceil(hi / 60) * 60) };
}

/** Side-by-side lanes for blocks that overlap (a cancelled visit under its rebooking). */
function lanes(items) {
  let cluster = [];
  let end = -1;
  const flush = () => {
    const n = Math.max(...cluster.map((c) => c.lane)) + 1;
    for (const c of cluster) c.lanes = n;
    cluster = [];
  };
  for (const it of items) {
    if (cluster.length && it.from >= end) flush();
    const used = new Set(cluster.filter((c) => c.to > it.from).map((c) => c.lane));
    let lane = 0;
    while (used.has(lane)) lane += 1;
    it.lane = lane;
    cluster.push(it);
    end = Math.max(end, it.to);
  }
  if (cluster.length) flush();
  return items;
}

const dayMonth = (day) => shortDate(day).replace(/ \d{4}$/, ""); // "25 Nov"
const dayName = (day) => `${weekdayName(day)} ${dayMonth(day)}`; // "Wed 25 Nov"

/** "23 – 29 Nov 2026", "30 Nov – 6 Dec 2026", "28 Dec 2026 – 3 Jan 2027". */
function weekTitle(a, b) {
  if (a.slice(0, 4) !== b.slice(0, 4)) return `${shortDate(a)} – ${shortDate(b)}`;
  if (a.slice(0, 7) !== b.slice(0, 7)) return `${dayMonth(a)} – ${shortDate(b)}`;
  return `${Number(a.slice(8))} – ${shortDate(b)}`;
}

/** "Aarti Kumar" -> "Aarti K.", for the narrow blocks of the week view. */
function shortName(name) {
  const parts = name.trim().split(/\s+/);
  return parts.length > 1 ? `${parts[0]} ${parts.at(-1)[0]}.` : name;
}

function hourLabel(minutes) {
  const h = Math.floor(minutes / 60) % 24;
  return `${h % 12 || 12} ${h < 12 ? "am" : "pm"}`;
}

function servicesOf(services, doctorId) {
  return services.filter((s) => s.active && (!s.doctor_ids.length || s.doctor_ids.includes(doctorId)));
}

/** What a day is, for its header and the honest empty states. */
function dayState(day, { today, working, offs, lo, hi, slots }) {
  const whole = offs.find(({ from, to }) => from <= Math.min(lo, working[0]?.from ?? lo)
    && to >= Math.max(hi, working.at(-1)?.to ?? hi));
  if (whole) return { kind: "off", words: whole.t.doctor_id ? "On leave" : "Clinic closed", reason: whole.t.reason };
  if (!working.length) return { kind: "closed", words: "Not working", reason: `No working hours on ${WEEKDAYS[weekdayIndex(day)]}s` };
  if (day < today) return { kind: "past", words: "Past" };
  if (!slots) return { kind: "open", words: "" };
  return slots.length ? { kind: "open", words: `${slots.length} free` } : { kind: "full", words: "Fully booked" };
}

// ---- the screen --------------------------------------------------------------------------------

export default function Calendar({ route }) {
  const app = useApp();
  const { clinic, doctors, services } = app;
  const today = todayIso();
  const q = route.query;
  const active = doctors.filter((d) => d.active);
  const doctor = doctors.find((d) => d.id === q.get("doctor")) || active[0] || null;
  const view = q.get("view") === "day" ? "day" : "week";
  const date = ISO_DAY.test(q.get("date") || "") ? q.get("date") : today;
  const offered = doctor ? servicesOf(services, doctor.id) : [];
  const service = offered.find((s) => s.id === q.get("service")) || offered[0] || null;
  const first = view === "week" ? mondayOf(date) : date;
  const days = useMemo(() => Array.from({ length: view === "week" ? 7 : 1 }, (_, i) => addDays(first, i)), [first, view]);
  const step = clinic.slot_step_minutes || 15;
  const ppm = Math.max(1.6, 22 / step); // pixels per minute: one slot step is at least 22 px tall

  const [showCancelled, setShowCancelled] = useState(false);
  const [open, setOpen] = useState(null); // the appointment whose details are shown
  const [dialog, setDialog] = useState(null); // { initial } to book, { appointment } to move
  const [dragging, setDragging] = useState(null);
  const [moved, setMoved] = useState({}); // id -> times shown at once, until the server agrees

  // Coming back to the screen without a query reopens the doctor, view and day last shown.
  useEffect(() => {
    const saved = sessionStorage.getItem(REMEMBER);
    if (![...q.keys()].length && saved) setQuery(Object.fromEntries(new URLSearchParams(saved)));
  }, []);
  useEffect(() => { if ([...q.keys()].length) sessionStorage.setItem(REMEMBER, q.toString()); }, [q.toString()]);

  const key = [doctor?.id, service?.id, days[0], days.length].join("|");
  const { data, error, reload } = useData(async (signal) => {
    if (!doctor) return null;
    const opts = { signal };
    const [appointments, hours, timeOff, ...slots] = await Promise.all([
      api.get("/appointments", { clinic_id: clinic.id, doctor_id: doctor.id, date_from: days[0], date_to: days.at(-1), limit: 1000 }, opts),
      api.get("/working-hours", { doctor_id: doctor.id }, opts),
      api.get("/time-off", { clinic_id: clinic.id, doctor_id: doctor.id }, opts),
      ...days.map((d) => (service && d >= today
        ? api.get(`/doctors/${doctor.id}/slots`, { date: d, service_id: service.id, staff: true }, opts)
        : null)),
    ]);
    return { key, appointments, hours, timeOff, slots: Object.fromEntries(days.map((d, i) => [d, slots[i]])) };
  }, [key, clinic.id]);

  // A moved block shows at its new time at once; once settled, the next load replaces it.
  const appointments = useMemo(() => (data ? data.appointments : []).map((a) => {
    const m = moved[a.id];
    return m ? { ...a, starts_at: m.starts_at, ends_at: m.ends_at, date: m.date } : a;
  }), [data, moved]);
  useEffect(() => {
    setMoved((m) => (Object.values(m).some((v) => v.settled)
      ? Object.fromEntries(Object.entries(m).filter(([, v]) => !v.settled)) : m));
  }, [data]);
  const range = useMemo(() => gridRange(data ? data.hours : [], appointments), [data, appointments]);

  async function patchTime(a, times) {
    setMoved((m) => ({ ...m, [a.id]: times }));
    let done = null;
    try {
      done = await api.patch(`/appointments/${a.id}`, { starts_at: times.starts_at });
      return done;
    } finally {
      setMoved((m) => {
        const next = { ...m };
        if (done) next[a.id] = { ...times, settled: true };
        else delete next[a.id];
        return next;
      });
      reload();
    }
  }

  async function move(a, slot) {
    if (slot.start === a.starts_at) return;
    const before = { starts_at: a.starts_at, ends_at: a.ends_at, date: a.date };
    const length = new Date(a.ends_at) - new Date(a.starts_at);
    const after = {
      starts_at: slot.start,
      ends_at: new Date(new Date(slot.start).getTime() + length).toISOString(),
      date: todayIso(new Date(slot.start)),
    };
    const name = a.patient_name;
    try {
      const done = await patchTime(a, after);
      toast(`Moved ${name} to ${shortDate(done.date)}, ${time(done.starts_at)}`, {
        undo: async () => {
          try {
            await patchTime(a, before);
            toast(`Moved ${name} back to ${shortDate(before.date)}, ${time(before.starts_at)}`);
          } catch (e) {
            toast(`Could not move ${name} back: ${e.message}`, { bad: true });
          }
        },
      });
    } catch (e) {
      toast(`Could not move ${name}: ${e.message}`, { bad: true });
    }
  }

  const go = (changes) => setQuery(changes);
  const shift = (n) => go({ date: addDays(date, n * (view === "week" ? 7 : 1)) });
  const book = (extra = {}) => doctor && setDialog({
    initial: { doctor_id: doctor.id, service_id: service?.id, date: view === "day" || date >= today ? date : today, source: "staff", ...extra },
  });
  const unit = view === "week" ? "week" : "day";
  useShortcuts("Calendar", {
    ArrowLeft: { label: `Previous ${unit}`, run: () => shift(-1) },
    ArrowRight: { label: `Next ${unit}`, run: () => shift(1) },
    t: { label: "Back to today", run: () => go({ date: null }) },
    d: { label: "Day view", run: () => go({ view: "day" }) },
    w: { label: "Week view", run: () => go({ view: null }) },
    n: { label: "New booking with this doctor", run: () => book() },
  }, [date, view, doctor?.id, service?.id]);

  const title = view === "day" ? longDate(date) : weekTitle(days[0], days[6]);
  const showsToday = days.includes(today);
  return html`<div class="page calendar">
    <div class="page-head">
      <h1>Calendar</h1>
      <span class="cal-range" aria-live="polite">${title}</span>
      <div class="btn-group" role="group" aria-label=${`Move by a ${unit}`}>
        <button aria-label=${`Previous ${unit}`} title=${`Previous ${unit} (←)`} onClick=${() => shift(-1)}>‹</button>
        <button aria-pressed=${showsToday} title="Today (t)" onClick=${() => go({ date: null })}>Today</button>
        <button aria-label=${`Next ${unit}`} title=${`Next ${unit} (→)`} onClick=${() => shift(1)}>›</button>
      </div>
      <input type="date" aria-label="Go to day" value=${date} onInput=${(e) => e.target.value && go({ date: e.target.value === today ? null : e.target.value })} />
      <div class="btn-group" role="group" aria-label="View">
        <button aria-pressed=${view === "day"} title="Day view (d)" onClick=${() => go({ view: "day" })}>Day</button>
        <button aria-pressed=${view === "week"} title="Week view (w)" onClick=${() => go({ view: null })}>Week</button>
      </div>
      <span class="spacer"></span>
      <button class="primary" disabled=${!doctor} onClick=${() => book()} title="New booking (n)">+ New booking <kbd>n</kbd></button>
    </div>
    ${!doctor ? html`<div class="panel"><${Empty} title="No doctors yet">Add the clinic's doctors and their hours in <a href="#/settings?section=doctors">Settings</a>.<//></div>`
      : html`<div class="cal-toolbar">
        <label class="inline">Doctor
          <select aria-label="Doctor" value=${doctor.id} onChange=${(e) => go({ doctor: e.target.value, service: null })}>
            ${doctors.filter((d) => d.active || d.id === doctor.id).map((d) => html`<option value=${d.id}>${d.name}${d.specialty ? ` · ${d.specialty}` : ""}</option>`)}
          </select></label>
        <label class="inline">Free slots for
          <select aria-label="Free slots for" value=${service?.id || ""} disabled=${!offered.length} onChange=${(e) => go({ service: e.target.value })}>
            ${offered.length ? offered.map((s) => html`<option value=${s.id}>${s.name} (${s.duration_minutes} min)</option>`)
              : html`<option value="">No services</option>`}
          </select></label>
        <label class="check"><input type="checkbox" checked=${showCancelled} onChange=${(e) => setShowCancelled(e.target.checked)} /> Show cancelled</label>
      </div>
      ${!offered.length && html`<div class="notice warn">${doctor.name} offers no services yet, so no free slots can be shown. Add one in <a href="#/settings?section=services">Settings</a>.</div>`}
      ${data && !data.hours.length && html`<div class="notice warn">${doctor.name} has no working hours yet. Set them in <a href="#/settings?section=hours">Settings</a>.</div>`}
      ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
      ${!data && !error && html`<${Loading} what="Loading the calendar…" />`}
      ${data && html`<${Grid} days=${days} today=${today} data=${data} stale=${data.key !== key}
        appointments=${appointments.filter((a) => showCancelled || a.status !== "cancelled")}
        range=${range} ppm=${ppm} step=${step} service=${service} services=${services}
        dragging=${dragging} setDragging=${setDragging} onMove=${move} onOpen=${setOpen}
        onDay=${(d) => go({ view: "day", date: d })}
        onSlot=${(d, s) => book({ date: d, start: s.start, source: d === today ? "walk-in" : "staff" })} />
      <p class="cal-legend muted">
        <span><i class="sw free" aria-hidden="true"></i>Free: click to book, or drag a visit onto it to move it (or click the visit, then Move…)</span>
        <span><i class="sw off" aria-hidden="true"></i>Time off</span>
        <span><i class="sw out" aria-hidden="true"></i>Not working</span>
        <span><kbd>←</kbd><kbd>→</kbd> ${unit} · <kbd>d</kbd> <kbd>w</kbd> day/week · <kbd>n</kbd> new booking</span>
      </p>`}`}
    ${open && html`<${Details} appointment=${appointments.find((a) => a.id === open.id) || open} services=${services} doctors=${doctors}
      onClose=${() => setOpen(null)} onMove=${(a) => { setOpen(null); setDialog({ appointment: a }); }} />`}
    ${dialog && html`<${BookingDialog} initial=${dialog.initial} appointment=${dialog.appointment}
      onClose=${() => setDialog(null)} onDone=${() => reload()} />`}
  </div>`;
}

// ---- the grid ------------------------------------------------------------------------------------

function Grid({ days, today, data, stale, appointments, range, ppm, step, service, services, dragging, setDragging, onMove, onOpen, onDay, onSlot }) {
  const scroller = useRef(null);
  const [now, setNow] = useState(() => minutesOfDay(new Date().toISOString()));
  useEffect(() => {
    const t = setInterval(() => setNow(minutesOfDay(new Date().toISOString())), 60000);
    return () => clearInterval(t);
  }, []);
  // Open on the working day; today's, an hour before now.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = days.includes(today) && now > range.lo + 60 ? (now - range.lo - 60) * ppm : 0;
  }, [days[0], days.length, range.lo]);

  const { lo, hi } = range;
  const height = (hi - lo) * ppm;
  const serviceName = Object.fromEntries(services.map((s) => [s.id, s.name]));
  const hours = [];
  for (let m = lo; m < hi; m += 60) hours.push(m);
  const columns = days.map((day) => {
    const working = workingOn(data.hours, day);
    const offs = offOn(data.timeOff, day);
    const slots = data.slots[day];
    return { day, working, offs, slots, state: dayState(day, { today, working, offs, lo, hi, slots }) };
  });
  return html`<div class=${`cal-grid${days.length === 1 ? " one-day" : ""}${dragging ? " is-dragging" : ""}${stale ? " stale" : ""}`}
      ref=${scroller} style=${`--cols:${days.length}; --step-px:${step * ppm}px; --hour-px:${60 * ppm}px`}>
    <div class="cal-head">
      <div class="cal-corner"></div>
      ${columns.map(({ day, state }) => html`<button class=${`cal-day-head${day === today ? " today" : ""} ${state.kind}`} key=${day}
          onClick=${() => onDay(day)} title=${days.length > 1 ? "Show this day" : ""} aria-label=${`${longDate(day)}${state.words ? `, ${state.words}` : ""}`}>
        <span class="dname">${dayName(day)}</span>
        <span class="dstate">${day === today && html`<span class="today-tag">Today</span>`}${state.words}</span>
      </button>`)}
    </div>
    <div class="cal-body" style=${`height:${height}px`}>
      <div class="cal-times" aria-hidden="true">
        ${hours.map((m) => html`<span style=${`top:${(m - lo) * ppm}px`}>${hourLabel(m)}</span>`)}
      </div>
      ${columns.map((c) => html`<${Day} key=${c.day} ...${c} today=${today} now=${now} lo=${lo} hi=${hi} ppm=${ppm} step=${step}
        service=${service} serviceName=${serviceName} dragging=${dragging} setDragging=${setDragging}
        appointments=${appointments.filter((a) => a.date === c.day)} onMove=${onMove} onOpen=${onOpen} onSlot=${onSlot} />`)}
    </div>
  </div>`;
}

function Day({ day, today, now, working, offs, slots, state, lo, hi, ppm, step, service, serviceName, appointments, dragging, setDragging, onMove, onOpen, onSlot }) {
  const [over, setOver] = useState(null);
  const y = (m) => (Math.max(lo, Math.min(hi, m)) - lo) * ppm;
  const box = (from, to, gap = 0) => `top:${y(from) + gap}px; height:${Math.max(0, y(to) - y(from) - 2 * gap)}px`;
  // Shade what is not working time; the gaps between two stretches are breaks.
  const shade = [];
  let at = lo;
  working.forEach((w, i) => {
    if (w.from > at) shade.push({ from: at, to: w.from, words: i > 0 ? "Break" : "" });
    at = Math.max(at, w.to);
  });
  if (at < hi) shade.push({ from: at, to: hi, words: "" });
  const blocks = lanes(appointments.map((a) => ({ a, ...span(a) })).sort((p, q) => p.from - q.from || (p.a.status === "cancelled") - (q.a.status === "cancelled")));
  const cell = Math.min(step, service ? service.duration_minutes : step); // a start, not the visit
  return html`<div class=${`cal-day${day === today ? " today" : ""}`} role="group" aria-label=${`${longDate(day)}${state.reason ? `: ${state.reason}` : ""}`}>
    ${shade.map((s) => html`<div class="cal-out" style=${box(s.from, s.to)}>${s.words && html`<span>${s.words}</span>`}</div>`)}
    ${state.kind === "closed" && html`<div class="cal-note" style=${box(lo, hi)}><span>${state.reason}</span></div>`}
    ${offs.map(({ t, from, to }) => {
      const kind = t.doctor_id ? "Leave" : "Clinic holiday";
      const reason = t.reason && t.reason.toLowerCase() !== kind.toLowerCase() ? t.reason : "";
      return html`<div class=${`cal-off${t.doctor_id ? "" : " holiday"}`} key=${t.id} style=${box(from, to)}>
        <span><strong>${kind}</strong>${reason && ` · ${reason}`}</span></div>`;
    })}
    ${(slots || []).map((s) => {
      const from = minutesOfDay(s.start);
      return html`<button class=${`cal-free${over === s.start ? " over" : ""}`} key=${s.start} data-start=${s.start}
        style=${box(from, from + cell, 1)}
        aria-label=${`Free ${time(s.start)}, ${longDate(day)}: book ${service.name}`}
        onClick=${() => onSlot(day, s)}
        onDragOver=${(e) => { if (dragging) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; if (over !== s.start) setOver(s.start); } }}
        onDragLeave=${() => setOver(null)}
        onDrop=${(e) => { e.preventDefault(); setOver(null); const a = dragging; setDragging(null); if (a) onMove(a, s); }}>
        <span>${time(s.start)}</span></button>`;
    })}
    ${blocks.map(({ a, from, to, lane, lanes: n }) => html`<${Block} key=${a.id} a=${a} style=${`${box(from, to, 0.5)}; left:calc(${(100 * lane) / n}% + 2px); width:calc(${100 / n}% - 5px)`}
      tall=${(to - from) * ppm >= 34} service=${serviceName[a.service_id] || ""}
      onOpen=${onOpen} setDragging=${setDragging} />`)}
    ${day === today && now >= lo && now <= hi && html`<div class="cal-now" style=${`top:${y(now)}px`} aria-hidden="true"></div>`}
  </div>`;
}

function Block({ a, style, tall, service, onOpen, setDragging }) {
  const movable = MOVABLE.has(a.status);
  const label = `${time(a.starts_at)} ${a.patient_name}, ${service}, ${STATUS_WORDS[a.status] || a.status}`;
  return html`<button class=${`cal-appt ${a.status}${tall ? " tall" : ""}`} style=${style} aria-label=${label}
      title=${`${time(a.starts_at)}–${time(a.ends_at)} · ${a.patient_name} · ${service} · ${STATUS_WORDS[a.status]}${movable ? " · drag onto a free slot to move" : ""}`}
      draggable=${movable ? "true" : "false"}
      onClick=${() => onOpen(a)}
      onDragStart=${(e) => { e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", a.id); setDragging(a); }}
      onDragEnd=${() => setDragging(null)}>
    <span class="who"><span class="t">${time(a.starts_at)} </span><strong class="full">${a.patient_name}</strong><strong class="short">${shortName(a.patient_name)}</strong></span>
    <span class="what"><span class="svc">${service}</span> <${StatusLabel} status=${a.status} /></span>
    <span class="extra">${showPhone(a.patient_phone)}${a.notes ? ` · ${a.notes}` : ""}</span>
  </button>`;
}

// ---- one appointment's details --------------------------------------------------------------------

function Details({ appointment: a, services, doctors, onClose, onMove }) {
  const service = services.find((s) => s.id === a.service_id);
  const doctor = doctors.find((d) => d.id === a.doctor_id);
  const movable = MOVABLE.has(a.status);
  return html`<${Dialog} title=${a.patient_name} label=${`Appointment: ${a.patient_name}`} onClose=${onClose}
    footer=${html`
      ${a.patient_id && html`<button style="margin-right:auto" onClick=${() => { onClose(); navigate(`#/patients/${a.patient_id}`); }}>Open patient</button>`}
      <button onClick=${onClose}>Close</button>
      <button class="primary" disabled=${!movable} onClick=${() => onMove(a)}>Move…</button>`}>
    <dl class="cal-details">
      <dt>When</dt><dd><strong>${longDate(a.date)}, ${time(a.starts_at)} – ${time(a.ends_at)}</strong></dd>
      <dt>Status</dt><dd><${StatusLabel} status=${a.status} />${a.cancellation_reason ? html` <span class="muted">${a.cancellation_reason}</span>` : ""}</dd>
      <dt>Service</dt><dd>${service ? `${service.name} (${service.duration_minutes} min)` : "—"}</dd>
      <dt>Doctor</dt><dd>${doctor ? doctor.name : "—"}</dd>
      <dt>Phone</dt><dd>${showPhone(a.patient_phone)}</dd>
      <dt>Booked by</dt><dd><${SourceTag} source=${a.source} /></dd>
      ${a.notes && html`<dt>Notes</dt><dd>${a.notes}</dd>`}
    </dl>
    ${!movable && html`<p class="muted">A ${(STATUS_WORDS[a.status] || a.status).toLowerCase()} appointment cannot be moved.</p>`}
  <//>`;
}
