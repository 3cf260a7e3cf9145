// First run: the database has no clinic yet. A short setup (the clinic, its doctors with
// their weekly hours, a first service) made through the same API as Settings, or "explore
// the demo clinic" (POST /setup/demo). Then `onDone()`: the app opens on Today.
import { html, useState, useRef } from "../lib/html.js";
import { api } from "../lib/api.js";
import { Field, toast } from "../lib/ui.js";
import { ZoneSelect, CountrySelect, WeekHours, hoursProblems, describeWeek, applyHours, newKey } from "./settings.js";

/** Mon–Sat 10:00–13:00 and 17:00–20:00: a common Indian clinic's week, to adjust. */
function defaultWeek() {
  return [0, 1, 2, 3, 4, 5].flatMap((weekday) => [
    { key: newKey(), weekday, start_time: "10:00", end_time: "13:00" },
    { key: newKey(), weekday, start_time: "17:00", end_time: "20:00" },
  ]);
}

const newDoctor = () => ({ key: newKey(), name: "", specialty: "", hours: defaultWeek(), open: false });

function DoctorCard({ doctor, index, errors, onChange, onRemove }) {
  const who = `Doctor ${index + 1}`;
  const set = (patch) => onChange({ ...doctor, ...patch });
  const hourErrors = Object.fromEntries(doctor.hours.filter((h) => errors[h.key]).map((h) => [h.key, errors[h.key]]));
  const hoursWrong = Object.keys(hourErrors).length > 0;
  return html`<div class="setup-doctor">
    <div class="row">
      <${Field} label="Doctor's name" error=${errors[`doctor:${doctor.key}`]}>
        <input aria-label=${`${who} name`} placeholder="Dr. Asha Rao" maxlength="120" value=${doctor.name}
          aria-invalid=${errors[`doctor:${doctor.key}`] ? "true" : undefined} onInput=${(e) => set({ name: e.target.value })} /><//>
      <${Field} label="Specialty (optional)">
        <input aria-label=${`${who} specialty`} placeholder="General Physician" maxlength="200" value=${doctor.specialty}
          onInput=${(e) => set({ specialty: e.target.value })} /><//>
      ${onRemove && html`<button type="button" class="ghost small remove-doctor" aria-label=${`Remove ${who}`} onClick=${onRemove}>Remove</button>`}
    </div>
    <div class="setup-hours">
      <span class="label">Hours</span>
      <span class=${hoursWrong ? "bad-text" : "muted"}>${describeWeek(doctor.hours)}</span>
      <button type="button" class="small" aria-expanded=${doctor.open || hoursWrong} aria-label=${`Change ${who} hours`}
        onClick=${() => set({ open: !(doctor.open || hoursWrong) })}>${doctor.open || hoursWrong ? "Done" : "Change"}</button>
    </div>
    ${(doctor.open || hoursWrong) && html`<${WeekHours} items=${doctor.hours} who=${who} errors=${hourErrors} onChange=${(hours) => set({ hours })} />`}
  </div>`;
}

function problemsOf(v) {
  const found = {};
  if (!v.name.trim()) found.name = "Type the clinic's name.";
  for (const d of v.doctors) {
    if (!d.name.trim()) found[`doctor:${d.key}`] = "Type the doctor's name.";
    Object.assign(found, hoursProblems(d.hours));
  }
  if (!v.service.trim()) found.service = "Name the first service (you can add more later).";
  const length = Number(v.duration);
  if (!(length >= 5 && length <= 720)) found.duration = "Between 5 and 720 minutes.";
  return found;
}

// The server validator's complaints, in words.
const WORDS = {
  name: "A name of up to 120 characters.",
  price: "A price of 0 or more (or leave it empty).",
  duration: "Between 5 and 720 minutes.",
  service: "A name of up to 120 characters.",
};

function fieldFor(e, step) {
  if (step === "clinic" && ["name", "timezone", "country"].includes(e.field)) return e.field;
  if (step === "service") return e.field === "duration_minutes" ? "duration" : e.field === "price" ? "price" : "service";
  return step;
}

export default function Setup({ onDone }) {
  const [v, setV] = useState({
    name: "", timezone: "Asia/Kolkata", country: "IN", doctors: [newDoctor()],
    service: "Consultation", duration: "15", price: "",
  });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(null); // "create" | "demo"
  const done = useRef({ clinic: null, doctors: {}, hours: new Set(), service: false });
  const set = (patch) => { setV((x) => ({ ...x, ...patch })); setErrors({}); };
  const setDoctor = (i, d) => set({ doctors: v.doctors.map((x, j) => (j === i ? d : x)) });

  async function step(name, run) {
    try {
      return await run();
    } catch (e) {
      e.step = name;
      throw e;
    }
  }

  async function create(e) {
    e.preventDefault();
    const found = problemsOf(v);
    if (Object.keys(found).length) { setErrors(found); return; }
    setBusy("create");
    const made = done.current;
    const clinicBody = { name: v.name.trim(), timezone: v.timezone, country: v.country };
    try {
      made.clinic = await step("clinic", () => (made.clinic
        ? api.patch(`/clinics/${made.clinic.id}`, clinicBody) : api.post("/clinics", clinicBody)));
      for (const d of v.doctors) {
        if (!made.doctors[d.key]) {
          const doctor = await step(`doctor:${d.key}`, () => api.post("/doctors", { clinic_id: made.clinic.id, name: d.name.trim(), specialty: d.specialty.trim() }));
          made.doctors[d.key] = doctor.id;
        }
        if (!made.hours.has(d.key)) {
          const id = made.doctors[d.key];
          await step(`doctor:${d.key}`, async () => applyHours(id, await api.get("/working-hours", { doctor_id: id }), d.hours));
          made.hours.add(d.key);
        }
      }
      if (!made.service) {
        const body = { clinic_id: made.clinic.id, name: v.service.trim(), duration_minutes: Number(v.duration), price: Number(v.price || 0) };
        await step("service", () => api.post("/services", body));
        made.service = true;
      }
      toast(`${made.clinic.name} is ready`);
      onDone();
    } catch (err) {
      const field = err.key || fieldFor(err, err.step);
      const words = /Expected|Validation/.test(err.message) && WORDS[field] ? WORDS[field] : err.message;
      setErrors({ [field]: words, _: `Not finished: ${words} Correct it and press Create again: what is made already is kept.` });
      setBusy(null);
    }
  }

  async function explore() {
    setBusy("demo");
    try {
      const clinic = await api.post("/setup/demo");
      toast(`Welcome to ${clinic.name}, the demo clinic`);
      onDone();
    } catch (err) {
      if (err.status === 409) { onDone(); return; } // a clinic exists by now: open it
      setErrors({ demo: err.message });
      setBusy(null);
    }
  }

  return html`<div class="setup-page">
    <div class="setup-head">
      <span class="brand-mark" aria-hidden="true">+</span>
      <div><h1>Welcome to clinicbot</h1>
        <p class="muted">Set up your clinic in a minute, or look around a demo clinic first. Everything here can be changed later in Settings.</p></div>
    </div>
    <div class="setup-grid">
      <form class="panel setup-form" onSubmit=${create} aria-label="Set up your clinic" novalidate>
        <div class="panel-head"><h2>Set up your clinic</h2></div>
        <div class="panel-body">
          <h3>The clinic</h3>
          <div class="row">
            <${Field} label="Clinic name" error=${errors.name}>
              <input aria-label="Clinic name" placeholder="Sharma Family Clinic" maxlength="120" autofocus value=${v.name}
                aria-invalid=${errors.name ? "true" : undefined} onInput=${(e) => set({ name: e.target.value })} /><//>
            <${Field} label="Time zone" error=${errors.timezone}>
              <${ZoneSelect} value=${v.timezone} error=${errors.timezone} onChange=${(timezone) => set({ timezone })} /><//>
            <${Field} label="Country" error=${errors.country}>
              <${CountrySelect} value=${v.country} error=${errors.country} onChange=${(country) => set({ country })} /><//>
          </div>

          <h3>Doctors and their hours</h3>
          ${v.doctors.map((d, i) => html`<${DoctorCard} key=${d.key} doctor=${d} index=${i} errors=${errors}
            onChange=${(x) => setDoctor(i, x)}
            onRemove=${v.doctors.length > 1 && !done.current.doctors[d.key] ? () => set({ doctors: v.doctors.filter((x) => x.key !== d.key) }) : null} />`)}
          <button type="button" class="small add-doctor" onClick=${() => set({ doctors: [...v.doctors, newDoctor()] })}>+ Add another doctor</button>

          <h3>First service</h3>
          <div class="row">
            <${Field} label="Service name" error=${errors.service}>
              <input aria-label="Service name" maxlength="120" value=${v.service} aria-invalid=${errors.service ? "true" : undefined}
                onInput=${(e) => set({ service: e.target.value })} /><//>
            <${Field} label="Length (minutes)" error=${errors.duration}>
              <input aria-label="Length (minutes)" type="number" min="5" max="720" step="5" value=${v.duration}
                aria-invalid=${errors.duration ? "true" : undefined} onInput=${(e) => set({ duration: e.target.value })} /><//>
            <${Field} label="Price (₹, optional)" error=${errors.price}>
              <input aria-label="Price" type="number" min="0" step="1" placeholder="500" value=${v.price}
                aria-invalid=${errors.price ? "true" : undefined} onInput=${(e) => set({ price: e.target.value })} /><//>
          </div>
        </div>
        <div class="setup-foot">
          ${errors._ && html`<div class="notice bad" role="alert">${errors._}</div>`}
          ${Object.keys(errors).length > 0 && !errors._ && html`<div class="notice bad" role="alert">Some fields need a look (marked in red).</div>`}
          <button class="primary big" type="submit" disabled=${busy !== null}>${busy === "create" ? "Setting up…" : "Create the clinic"}</button>
          <span class="muted">WhatsApp can be connected afterwards, in Settings › WhatsApp. Until then, try the bot in its simulator.</span>
        </div>
      </form>

      <aside class="panel setup-demo" aria-label="Explore the demo clinic">
        <div class="panel-body">
          <h2>Just looking?</h2>
          <p>Open a demo clinic with three doctors, 200 patients, six months of visits and a few WhatsApp chats, to try every screen.</p>
          <button class="big" onClick=${explore} disabled=${busy !== null}>${busy === "demo" ? "Opening the demo…" : "Explore the demo clinic"}</button>
          ${errors.demo && html`<div class="notice bad" role="alert">${errors.demo}</div>`}
          <p class="muted small-print">The demo fills this data folder. To set up your real clinic afterwards, start clinicbot with a new data folder.</p>
        </div>
      </aside>
    </div>
  </div>`;
}
