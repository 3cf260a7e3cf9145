// The booking dialog, shared by Today (n, walk-in), the Calendar (a free slot) and a
// patient's profile: find or add the patient, pick doctor, service, day and a free time.
import { html, useState, useEffect, useMemo, useRef } from "./html.js";
import { api } from "./api.js";
import { Dialog, Field, useApp, toast } from "./ui.js";
import { time, todayIso, longDate, phone as showPhone, addDays } from "./format.js";

function servicesOf(services, doctorId) {
  return services.filter((s) => s.active && (!s.doctor_ids.length || s.doctor_ids.includes(doctorId)));
}

/** Search patients as you type; pick one or keep the typed name/phone as a new patient. */
function PatientFinder({ clinicId, value, onChange }) {
  const [q, setQ] = useState(value.patient ? value.patient.name : "");
  const [hits, setHits] = useState([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  useEffect(() => {
    if (value.patient || q.trim().length < 2) { setHits([]); return undefined; }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api.get("/patients", { clinic_id: clinicId, q: q.trim(), limit: 8 }, { signal: ctl.signal })
        .then((xs) => { setHits(xs); setActive(0); }, () => {});
    }, 90);
    return () => { clearTimeout(t); ctl.abort(); };
  }, [q, value.patient]);

  const choose = (p) => { onChange({ patient: p, name: p.name, phone: p.phone }); setQ(p.name); setOpen(false); };
  if (value.patient) {
    return html`<div class="field"><span class="label">Patient</span>
      <div class="picked-patient">
        <strong>${value.patient.name}</strong> <span class="muted">${showPhone(value.patient.phone)}</span>
        <span class="muted">· ${value.patient.total_visits} visits, ${value.patient.total_no_shows} no-shows</span>
        <button type="button" class="small ghost" onClick=${() => { onChange({ patient: null, name: "", phone: "" }); setQ(""); }}>Change</button>
      </div></div>`;
  }
  const digits = /^[+\d\s-]+$/.test(q.trim());
  return html`<div class="row">
    <div class="field finder" style="position:relative">
      <span class="label">Patient (name or phone)</span>
      <input aria-label="Find patient" placeholder="Type a name or a few digits" value=${q} autofocus
        onInput=${(e) => {
          const v = e.target.value; setQ(v); setOpen(true);
          onChange({ patient: null, name: digits ? value.name : v, phone: /^[+\d\s-]+$/.test(v.trim()) ? v : value.phone });
        }}
        onKeyDown=${(e) => {
          if (!hits.length) return;
          if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => Math.min(a + 1, hits.length - 1)); }
          if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(a - 1, 0)); }
          if (e.key === "Enter" && open) { e.preventDefault(); choose(hits[active]); }
        }}
        onBlur=${() => setTimeout(() => setOpen(false), 150)} onFocus=${() => setOpen(true)} />
      ${open && hits.length > 0 && html`<ul class="suggest" role="listbox">
        ${hits.map((p, i) => html`<li role="option" aria-selected=${i === active} key=${p.id}
          onMouseDown=${(e) => { e.preventDefault(); choose(p); }}>
          <strong>${p.name}</strong> <span class="muted">${showPhone(p.phone)}</span></li>`)}
      </ul>`}
    </div>
  </div>
  <div class="row">
    <${Field} label="Name (new patient)"><input aria-label="Patient name" value=${value.name}
      onInput=${(e) => onChange({ ...value, name: e.target.value })} /><//>
    <${Field} label="Phone" hint="10-digit mobile; +91 is added"><input aria-label="Patient phone" inputmode="tel" value=${value.phone}
      onInput=${(e) => onChange({ ...value, phone: e.target.value })} /><//>
  </div>`;
}

/**
 * `initial`: { doctor_id, service_id, date, start, patient, source, walkIn }
 * `appointment`: when given, the dialog moves it (reschedule) instead of booking.
 */
export function BookingDialog({ initial = {}, appointment = null, onClose, onDone }) {
  const app = useApp();
  const { clinic } = app;
  const doctors = app.doctors.filter((d) => d.active);
  const moving = Boolean(appointment);
  const [who, setWho] = useState({ patient: initial.patient || null, name: "", phone: "" });
  const [doctorId, setDoctorId] = useState(initial.doctor_id || appointment?.doctor_id || doctors[0]?.id || "");
  const offered = useMemo(() => servicesOf(app.services, doctorId), [doctorId, app.services]);
  const [serviceId, setServiceId] = useState(initial.service_id || appointment?.service_id || "");
  const [day, setDay] = useState(initial.date || appointment?.date || todayIso());
  const [start, setStart] = useState(initial.start || null);
  const [source, setSource] = useState(initial.source || "walk-in");
  const [notes, setNotes] = useState("");
  const [slots, setSlots] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const firstSlot = useRef(initial.start || null);

  useEffect(() => {
    if (!offered.find((s) => s.id === serviceId)) setServiceId(offered[0]?.id || "");
  }, [offered]);

  useEffect(() => {
    if (!doctorId || !serviceId || !day) { setSlots([]); return undefined; }
    if (!offered.some((s) => s.id === serviceId)) return undefined; // the service follows the doctor first
    const ctl = new AbortController();
    setSlots(null);
    api.get(`/doctors/${doctorId}/slots`, { date: day, service_id: serviceId, staff: true }, { signal: ctl.signal })
      .then((xs) => {
        const wanted = firstSlot.current;
        firstSlot.current = null;
        setSlots(xs);
        // A time chosen on the calendar stays chosen (the server judges it); so does the
        // one picked here while it is still free (the list reloads on live changes).
        setStart((current) => wanted
          || (current && xs.some((s) => s.start === current) ? current : xs[0]?.start || null));
      }, (e) => { if (e.name !== "AbortError") { setSlots([]); setError(e.message); } });
    return () => ctl.abort();
  }, [doctorId, serviceId, day, offered]);

  async function submit(e) {
    e && e.preventDefault();
    if (busy) return;
    setError(null);
    if (!start) { setError("Pick a time."); return; }
    setBusy(true);
    try {
      if (moving) {
        const body = { starts_at: start };
        if (doctorId !== appointment.doctor_id) body.doctor_id = doctorId;
        const moved = await api.patch(`/appointments/${appointment.id}`, body);
        toast(`Moved ${moved.patient_name} to ${longDate(moved.date)}, ${time(moved.starts_at)}`);
        onDone && onDone(moved);
      } else {
        const body = { clinic_id: clinic.id, doctor_id: doctorId, service_id: serviceId, starts_at: start, source };
        if (notes.trim()) body.notes = notes.trim();
        if (who.patient) body.patient_id = who.patient.id;
        else {
          if (!who.name.trim()) throw new Error("Type the patient's name (or pick them from the list).");
          if (!who.phone.trim()) throw new Error("Type the patient's phone number.");
          body.patient_name = who.name.trim();
          body.patient_phone = who.phone.trim();
        }
        const made = await api.post("/appointments", body);
        toast(`Booked ${made.patient_name} · ${time(made.starts_at)} ${longDate(made.date)}`);
        onDone && onDone(made);
      }
      onClose();
    } catch (err) {
      setError(err.message);
      if (err.status === 409) { // taken meanwhile: show the times that are free now
        api.get(`/doctors/${doctorId}/slots`, { date: day, service_id: serviceId, staff: true })
          .then((xs) => { setSlots(xs); setStart(xs[0]?.start || null); }, () => {});
      }
    } finally {
      setBusy(false);
    }
  }

  const title = moving ? `Move ${appointment.patient_name}'s appointment` : "New booking";
  const shown = slots || [];
  return html`<${Dialog} title=${title} onClose=${onClose} wide
    footer=${html`<span class="muted" style="margin-right:auto">${start ? `${longDate(day)} · ${time(start)}` : ""}</span>
      <button onClick=${onClose}>Cancel</button>
      <button class="primary" onClick=${submit} disabled=${busy}>${moving ? "Move" : "Book"} <kbd>Ctrl+Enter</kbd></button>`}>
    <form class="booking" onSubmit=${submit} onKeyDown=${(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e); }}>
      ${!moving && html`<${PatientFinder} clinicId=${clinic.id} value=${who} onChange=${setWho} />`}
      <div class="row">
        <${Field} label="Doctor"><select aria-label="Doctor" value=${doctorId} onChange=${(e) => setDoctorId(e.target.value)}>
          ${doctors.map((d) => html`<option value=${d.id}>${d.name}</option>`)}</select><//>
        ${!moving && html`<${Field} label="Service"><select aria-label="Service" value=${serviceId} onChange=${(e) => setServiceId(e.target.value)}>
          ${offered.map((s) => html`<option value=${s.id}>${s.name} (${s.duration_minutes} min)</option>`)}</select><//>`}
        <div class="field"><span class="label">Day</span><div class="day-pick">
          <button type="button" class="small" aria-label="Previous day" onClick=${() => setDay(addDays(day, -1))}>‹</button>
          <input type="date" aria-label="Day" value=${day} onInput=${(e) => e.target.value && setDay(e.target.value)} />
          <button type="button" class="small" aria-label="Next day" onClick=${() => setDay(addDays(day, 1))}>›</button>
        </div></div>
      </div>
      <div class="field"><span class="label">Time${slots ? ` · ${shown.length} free` : ""}</span>
        ${slots === null ? html`<div class="muted">Looking for free times…</div>`
          : shown.length === 0 && !start ? html`<div class="muted">No free time on ${longDate(day)} for this doctor. Try another day.</div>`
          : html`<div class="slots" role="radiogroup" aria-label="Free times">
            ${start && !shown.some((s) => s.start === start) && html`<button type="button" role="radio" aria-checked="true" class="slot on">${time(start)}</button>`}
            ${shown.map((s) => html`<button type="button" role="radio" aria-checked=${s.start === start}
              class=${`slot${s.start === start ? " on" : ""}`} onClick=${() => setStart(s.start)}>${time(s.start)}</button>`)}
          </div>`}
      </div>
      ${!moving && html`<div class="row">
        <div class="field"><span class="label" id="booked-as">Booked as</span><div class="btn-group" role="group" aria-labelledby="booked-as">
          ${[["walk-in", "Walk-in"], ["staff", "Phone call"]].map(([v, w]) => html`<button type="button" aria-pressed=${source === v} onClick=${() => setSource(v)}>${w}</button>`)}
        </div></div>
        <${Field} label="Notes (optional)"><input aria-label="Notes" value=${notes} maxlength="500" onInput=${(e) => setNotes(e.target.value)} /><//>
      </div>`}
      ${error && html`<div class="notice bad" role="alert">${error}</div>`}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}
