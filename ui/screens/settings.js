// Settings: the clinic, its doctors, services, working hours and time off, the booking rules
// and reminders, WhatsApp (credentials with a connection test, the webhook's tunnel, the
// relay) and the staff token. Sections in a left list: #/settings?section=<name>. Every form
// saves with Save (or Ctrl+S), shows the server's complaint at the field it is about, and
// keeps what was typed when saving fails.
import { html, useState, useEffect, useMemo, useRef } from "../lib/html.js";
import { api, token } from "../lib/api.js";
import { useApp, useData, useShortcuts, Loading, Empty, ErrorBox, Dialog, Field, toast } from "../lib/ui.js";
import { setQuery } from "../lib/router.js";
import { BackupsSection } from "./settings_backups.js";
import { DataSection } from "./settings_data.js";
import { HealthSection } from "./settings_health.js";
import { WEEKDAYS, longDate, time, ago, money, todayIso, addDays } from "../lib/format.js";

const SECTIONS = [
  ["clinic", "Clinic", "Name, address, time zone"],
  ["doctors", "Doctors", "Who sees patients"],
  ["services", "Services", "Visits, length, price"],
  ["hours", "Working hours", "Each doctor's week"],
  ["timeoff", "Time off", "Holidays and leave"],
  ["rules", "Booking rules", "Notice, horizon, grid"],
  ["reminders", "Reminders", "Before each visit"],
  ["whatsapp", "WhatsApp", "Connection, webhook, relay"],
  ["token", "Staff token", "Signing in to this window"],
  ["backups", "Backups", "Daily copies, restore"],
  ["data", "Your data", "Export, import, retention"],
  ["health", "Health", "Messages, backups, disk"],
];

// ---- forms: values, errors at the field, nothing lost on a failed save ---------------------------

// What the server's validator says, in words staff can act on.
const FIELD_WORDS = {
  whatsapp_phone_number_id: "Digits only: the Phone number ID from WhatsApp › API Setup (not the phone number).",
  whatsapp_access_token: "Paste the whole token, without spaces.",
  whatsapp_app_secret: "Paste the app secret, without spaces.",
  whatsapp_verify_token: "Letters, digits and symbols, without spaces.",
  relay_url: "A web address such as https://relay.example.com.",
  relay_token: "Letters, digits and symbols, without spaces.",
  reminder_template: "The template's name as WhatsApp Manager shows it: lowercase letters, digits and _.",
  country: "A two-letter country code, such as IN.",
};

function fieldErrors(e, fields) {
  const field = e.field && fields.includes(e.field) ? e.field : null;
  if (!field) return { _: e.message };
  const raw = /Expected|regex|length|Validation/.test(e.message);
  return { [field]: raw && FIELD_WORDS[field] ? FIELD_WORDS[field] : e.message.replace(/^[\w ]+: (?=Expected)/, "") };
}

/**
 * A form over `source`: follows it while nothing is typed, and returns to it after a save.
 * `save(run, fields)` runs `run(values)`; a failure shows at the field it names (one of
 * `fields`), else above the buttons, and what was typed stays.
 */
function useForm(source) {
  const [values, setValues] = useState(source || {});
  const [errors, setErrors] = useState({});
  const [dirty, setDirtyState] = useState(false);
  const [busy, setBusy] = useState(false);
  const latest = useRef(source);
  latest.current = source;
  // Refs, not the render's values: effects run after paint, and typing may come first.
  const typed = useRef(false);
  const setDirty = (x) => { typed.current = x; setDirtyState(x); };
  const key = JSON.stringify(source ?? null);
  const seen = useRef(key);
  useEffect(() => {
    if (seen.current === key) return;
    seen.current = key;
    if (!typed.current && latest.current) setValues(latest.current);
  }, [key]);
  return {
    values, errors, dirty, busy, setErrors,
    set(name, value) {
      setValues((v) => ({ ...v, [name]: value }));
      setDirty(true);
      setErrors((e) => ({ ...e, [name]: undefined, _: undefined }));
    },
    reset() { setValues(latest.current || {}); setDirty(false); setErrors({}); },
    load(next) { setValues(next); setDirty(false); setErrors({}); },
    async save(run, fields) {
      if (busy) return false;
      setBusy(true);
      setErrors({});
      try {
        await run(values);
        setValues(latest.current || {});
        setDirty(false);
        return true;
      } catch (e) {
        setErrors(fieldErrors(e, fields));
        toast(`Not saved: ${e.message}`, { bad: true });
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

/** The fields of `values` that differ from `source`. */
function changed(source, values) {
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(source[k])));
}

function Input({ form, name, label, hint, type = "text", ...rest }) {
  const error = form.errors[name];
  return html`<${Field} label=${label} hint=${hint} error=${error}>
    <input type=${type} name=${name} aria-label=${label} aria-invalid=${error ? "true" : undefined}
      value=${form.values[name] ?? ""} onInput=${(e) => form.set(name, e.target.value)} ...${rest} />
  <//>`;
}

function FormFoot({ form, label = "Save", children }) {
  return html`<div class="form-foot">
    ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
    <button class="primary" type="submit" disabled=${!form.dirty || form.busy}>${form.busy ? "Saving…" : label}</button>
    ${form.dirty && html`<button type="button" onClick=${() => form.reset()}>Discard changes</button>`}
    ${children}
    ${form.dirty && html`<span class="muted unsaved">Unsaved changes</span>`}
  </div>`;
}

function Section({ title, intro, children, actions }) {
  return html`<section class="panel settings-section" aria-label=${title}>
    <div class="panel-head"><h2>${title}</h2><span class="spacer"></span>${actions}</div>
    <div class="panel-body">
      ${intro && html`<p class="muted intro">${intro}</p>`}
      ${children}
    </div>
  </section>`;
}

function Chip({ tone = "", children }) {
  return html`<span class=${`chip ${tone}`}>${children}</span>`;
}

// ---- pickers shared with the first-run setup ---------------------------------------------------

let keys = 0;
export const newKey = () => `k${++keys}`;

const COMMON_ZONES = [
  "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Colombo", "Asia/Karachi", "Asia/Dubai",
  "Asia/Singapore", "Europe/London", "America/New_York",
];
function allZones() {
  try { return Intl.supportedValuesOf("timeZone").filter((z) => z !== "Asia/Calcutta" && !COMMON_ZONES.includes(z)); } catch { return []; }
}

export function ZoneSelect({ value, onChange, error, label = "Time zone" }) {
  const zones = useMemo(allZones, []);
  const known = COMMON_ZONES.includes(value) || zones.includes(value);
  const show = (z) => z.replace(/_/g, " ");
  return html`<select aria-label=${label} aria-invalid=${error ? "true" : undefined} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${!known && value && html`<option value=${value}>${show(value)}</option>`}
    <optgroup label="Common">${COMMON_ZONES.map((z) => html`<option value=${z}>${show(z)}</option>`)}</optgroup>
    ${zones.length > 0 && html`<optgroup label="All time zones">${zones.map((z) => html`<option value=${z}>${show(z)}</option>`)}</optgroup>`}
  </select>`;
}

const COMMON_COUNTRIES = ["IN", "NP", "BD", "LK", "PK", "AE", "SG", "GB", "US"];
// Regions that are no country with phone numbers of its own (the server refuses them).
const NOT_COUNTRIES = new Set([
  "EU", "EZ", "UN", "ZZ", "QO", "XA", "XB", "AQ", "BV", "HM", "TF", "UM", "GS", "PN", "CP", "DG", "EA", "IC",
]);
let countryList = null;
function countries() {
  if (countryList) return countryList;
  const names = new Intl.DisplayNames(["en"], { type: "region" });
  const found = [];
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      let name = code;
      try { name = names.of(code); } catch { continue; }
      if (name && name !== code && !NOT_COUNTRIES.has(code)) found.push([code, name]);
    }
  }
  countryList = found.sort((x, y) => x[1].localeCompare(y[1]));
  return countryList;
}

export function CountrySelect({ value, onChange, error, label = "Country" }) {
  const all = useMemo(countries, []);
  const name = Object.fromEntries(all);
  return html`<select aria-label=${label} aria-invalid=${error ? "true" : undefined} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${!name[value] && value && html`<option value=${value}>${value}</option>`}
    <optgroup label="Common">${COMMON_COUNTRIES.map((c) => html`<option value=${c}>${name[c] || c}</option>`)}</optgroup>
    <optgroup label="All countries">${all.filter(([c]) => !COMMON_COUNTRIES.includes(c)).map(([c, n]) => html`<option value=${c}>${n}</option>`)}</optgroup>
  </select>`;
}

// ---- a week of working hours (several periods a day: a break is two periods) ---------------

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const toMinutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };
const toClock = (mins) => `${String(Math.floor(mins / 60)).padStart(2, "0")}:${String(mins % 60).padStart(2, "0")}`;

/** Problems per period key: missing times, an end before its start, two that overlap. */
export function hoursProblems(items) {
  const problems = {};
  for (const h of items) {
    if (!CLOCK.test(h.start_time || "") || !CLOCK.test(h.end_time || "")) problems[h.key] = "Enter both times.";
    else if (h.start_time >= h.end_time) problems[h.key] = "The end must be after the start.";
  }
  for (let wd = 0; wd < 7; wd++) {
    const day = items.filter((h) => h.weekday === wd && !problems[h.key]).sort((a, b) => (a.start_time < b.start_time ? -1 : 1));
    for (let i = 1; i < day.length; i++) {
      if (day[i].start_time < day[i - 1].end_time) problems[day[i].key] = `Overlaps ${day[i - 1].start_time}–${day[i - 1].end_time}.`;
    }
  }
  return problems;
}

/** "Mon–Sat 10:00–13:00, 17:00–20:00" */
export function describeWeek(items) {
  const days = WEEKDAYS.map((_, wd) => items.filter((h) => h.weekday === wd)
    .sort((a, b) => (a.start_time < b.start_time ? -1 : 1))
    .map((h) => `${h.start_time}–${h.end_time}`).join(", "));
  const parts = [];
  for (let wd = 0; wd < 7;) {
    let end = wd;
    while (end + 1 < 7 && days[end + 1] === days[wd]) end += 1;
    if (days[wd]) parts.push(`${WEEKDAYS[wd].slice(0, 3)}${end > wd ? `–${WEEKDAYS[end].slice(0, 3)}` : ""} ${days[wd]}`);
    wd = end + 1;
  }
  return parts.join(" · ") || "No hours: closed every day";
}

export function WeekHours({ items, onChange, errors = {}, who = "" }) {
  const update = (key, patch) => onChange(items.map((h) => (h.key === key ? { ...h, ...patch } : h)));
  const add = (wd) => {
    const day = items.filter((h) => h.weekday === wd && CLOCK.test(h.end_time || ""));
    const after = day.length ? Math.max(...day.map((h) => toMinutes(h.end_time))) + 60 : 10 * 60;
    const start = Math.min(after, 22 * 60);
    onChange([...items, { key: newKey(), weekday: wd, start_time: toClock(start), end_time: toClock(Math.min(start + 180, 23 * 60 + 55)) }]);
  };
  const copyMonday = () => {
    const monday = items.filter((h) => h.weekday === 0);
    const rest = items.filter((h) => h.weekday === 0 || h.weekday === 6);
    const copies = [1, 2, 3, 4, 5].flatMap((wd) => monday.map((h) => ({ key: newKey(), weekday: wd, start_time: h.start_time, end_time: h.end_time })));
    onChange([...rest, ...copies]);
  };
  const prefix = who ? `${who}: ` : "";
  return html`<div class="week-hours">
    <table class="grid">
      <thead><tr><th style="width:120px">Day</th><th>Hours</th><th class="actions"><span class="sr-only">Add</span></th></tr></thead>
      <tbody>
        ${WEEKDAYS.map((dayName, wd) => {
          const day = items.filter((h) => h.weekday === wd);
          return html`<tr key=${wd} class=${day.length ? "" : "closed"}>
            <th scope="row">${dayName}</th>
            <td>${day.length === 0 ? html`<span class="muted">Closed</span>` : html`<div class="periods">${day.map((h, i) => html`
              <div class="period" key=${h.key}>
                <input type="time" step="300" required aria-label=${`${prefix}${dayName} period ${i + 1} from`}
                  aria-invalid=${errors[h.key] ? "true" : undefined} value=${h.start_time} onInput=${(e) => update(h.key, { start_time: e.target.value })} />
                <span aria-hidden="true">–</span>
                <input type="time" step="300" required aria-label=${`${prefix}${dayName} period ${i + 1} until`}
                  aria-invalid=${errors[h.key] ? "true" : undefined} value=${h.end_time} onInput=${(e) => update(h.key, { end_time: e.target.value })} />
                <button type="button" class="ghost small icon-only" aria-label=${`${prefix}Remove ${dayName} period ${i + 1}`} title="Remove these hours"
                  onClick=${() => onChange(items.filter((x) => x.key !== h.key))}>✕</button>
                ${errors[h.key] && html`<span class="error" role="alert">${errors[h.key]}</span>`}
              </div>`)}</div>`}</td>
            <td class="actions"><button type="button" class="small" aria-label=${`${prefix}Add hours on ${dayName}`} onClick=${() => add(wd)}>+ ${day.length ? "Another period" : "Add hours"}</button></td>
          </tr>`;
        })}
      </tbody>
    </table>
    <p class="muted week-tools">A break is two periods: 10:00–13:00 and 17:00–20:00.
      <button type="button" class="small ghost" onClick=${copyMonday} disabled=${!items.some((h) => h.weekday === 0)}>Copy Monday to Tuesday–Saturday</button></p>
  </div>`;
}

/** Make the server's hours of a doctor equal `target`, comparing by value: periods not in
 * `target` are deleted first, then the missing ones created, so no step overlaps another.
 * Running it again after a failure half-way finishes the job. */
export async function applyHours(doctorId, server, target) {
  const same = (a, b) => a.weekday === b.weekday && a.start_time === b.start_time && a.end_time === b.end_time;
  const unmatched = [...server];
  const missing = target.filter((h) => {
    const i = unmatched.findIndex((s) => same(s, h));
    if (i < 0) return true;
    unmatched.splice(i, 1);
    return false;
  });
  for (const s of unmatched) await api.del(`/working-hours/${s.id}`);
  for (const h of missing) {
    try {
      await api.post("/working-hours", { doctor_id: doctorId, weekday: h.weekday, start_time: h.start_time, end_time: h.end_time });
    } catch (e) {
      e.key = h.key;
      throw e;
    }
  }
}

const asItems = (hours) => [...hours]
  .sort((a, b) => a.weekday - b.weekday || (a.start_time < b.start_time ? -1 : 1))
  .map((h) => ({ ...h, key: h.id }));

// ---- Clinic --------------------------------------------------------------------------------

const CLINIC_FIELDS = ["name", "address", "phone", "timezone", "country"];

function ClinicSection() {
  const { clinic, reloadSetup } = useApp();
  const source = { name: clinic.name, address: clinic.address, phone: clinic.phone || "", timezone: clinic.timezone, country: clinic.country };
  const form = useForm(source);
  const submit = (e) => {
    e.preventDefault();
    form.save(async (v) => {
      const body = changed(source, v);
      if ("phone" in body && !body.phone.trim()) body.phone = null;
      await api.patch(`/clinics/${clinic.id}`, body);
      await reloadSetup();
      toast("Clinic details saved");
    }, CLINIC_FIELDS);
  };
  return html`<${Section} title="Clinic" intro="The name patients see in WhatsApp greetings, and where and when the clinic is.">
    <form class="form-grid" onSubmit=${submit} data-save>
      <div class="span-2"><${Input} form=${form} name="name" label="Clinic name" maxlength="120" required /></div>
      <div class="span-2"><${Input} form=${form} name="address" label="Address" maxlength="200" /></div>
      <${Input} form=${form} name="phone" label="Phone" inputmode="tel" maxlength="32" hint="Shown to patients who ask for it" />
      <${Field} label="Time zone" error=${form.errors.timezone} hint="Appointments and reminders follow this clock">
        <${ZoneSelect} value=${form.values.timezone} error=${form.errors.timezone} onChange=${(v) => form.set("timezone", v)} /><//>
      <${Field} label="Country" error=${form.errors.country} hint="Phone numbers without a country code are read as this country's">
        <${CountrySelect} value=${form.values.country} error=${form.errors.country} onChange=${(v) => form.set("country", v)} /><//>
      <div class="span-2"><${FormFoot} form=${form} /></div>
    </form>
  <//>`;
}

// ---- Doctors -------------------------------------------------------------------------------

function DoctorRow({ doctor, onSaved }) {
  const [editing, setEditing] = useState(false);
  const source = { name: doctor.name, specialty: doctor.specialty };
  const form = useForm(source);
  const save = (e) => {
    e.preventDefault();
    form.save(async (v) => {
      await api.patch(`/doctors/${doctor.id}`, changed(source, v));
      setEditing(false);
      toast(`${v.name} saved`);
      onSaved();
    }, ["name", "specialty"]);
  };
  const setActive = async (active) => {
    try {
      await api.patch(`/doctors/${doctor.id}`, { active });
      onSaved();
      toast(active ? `${doctor.name} can be booked again` : `${doctor.name} deactivated: no new bookings; past visits are kept`, {
        undo: async () => {
          try { await api.patch(`/doctors/${doctor.id}`, { active: !active }); toast(`Undone: ${doctor.name} is ${active ? "inactive" : "active"} again`); } catch (e) { toast(`Could not undo: ${e.message}`, { bad: true }); }
          onSaved();
        },
      });
    } catch (e) {
      toast(`Could not change ${doctor.name}: ${e.message}`, { bad: true });
    }
  };
  if (editing) {
    return html`<tr class="editing"><td colspan="4">
      <form class="inline-form" onSubmit=${save} data-save>
        <${Input} form=${form} name="name" label="Doctor's name" maxlength="120" required autofocus />
        <${Input} form=${form} name="specialty" label="Specialty" maxlength="200" />
        <div class="inline-actions">
          <button class="primary" type="submit" disabled=${form.busy}>Save</button>
          <button type="button" onClick=${() => { form.reset(); setEditing(false); }}>Cancel</button>
        </div>
        ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
      </form></td></tr>`;
  }
  return html`<tr class=${doctor.active ? "" : "inactive"}>
    <td><strong>${doctor.name}</strong></td>
    <td>${doctor.specialty || html`<span class="faint">—</span>`}</td>
    <td>${doctor.active ? html`<${Chip} tone="ok">Active<//>` : html`<${Chip}>Inactive<//>`}</td>
    <td class="actions">
      <button class="small" onClick=${() => setEditing(true)} aria-label=${`Edit ${doctor.name}`}>Edit</button>
      <a class="btn small ghost" href=${`#/settings?section=hours&doctor=${doctor.id}`}>Hours</a>
      ${doctor.active
        ? html`<button class="small danger" onClick=${() => setActive(false)} aria-label=${`Deactivate ${doctor.name}`}>Deactivate</button>`
        : html`<button class="small" onClick=${() => setActive(true)} aria-label=${`Reactivate ${doctor.name}`}>Reactivate</button>`}
    </td>
  </tr>`;
}

function DoctorsSection() {
  const { clinic, reloadSetup } = useApp();
  const { data, error, reload } = useData((signal) => api.get("/doctors", { clinic_id: clinic.id }, { signal }), [clinic.id]);
  const form = useForm({ name: "", specialty: "" });
  const refresh = () => { reload(); reloadSetup(); };
  const add = (e) => {
    e.preventDefault();
    form.save(async (v) => {
      const made = await api.post("/doctors", { clinic_id: clinic.id, name: v.name.trim(), specialty: v.specialty.trim() });
      form.reset();
      refresh();
      toast(`${made.name} added. Set their working hours next.`);
    }, ["name", "specialty"]);
  };
  return html`<${Section} title="Doctors" intro="Deactivating a doctor stops new bookings with them; their past visits stay in the records.">
    <form class="inline-form add-form" onSubmit=${add}>
      <${Input} form=${form} name="name" label="New doctor's name" placeholder="Dr. Asha Rao" maxlength="120" />
      <${Input} form=${form} name="specialty" label="Specialty" placeholder="General Physician" maxlength="200" />
      <div class="inline-actions"><button class="primary" type="submit" disabled=${!form.values.name.trim() || form.busy}>+ Add doctor</button></div>
    </form>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} />`}
    ${data && data.length === 0 && html`<${Empty} title="No doctors yet">Add the first one above.<//>`}
    ${data && data.length > 0 && html`<table class="grid">
      <thead><tr><th>Name</th><th>Specialty</th><th>Status</th><th class="actions"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${data.map((d) => html`<${DoctorRow} key=${d.id} doctor=${d} onSaved=${refresh} />`)}</tbody>
    </table>`}
  <//>`;
}

// ---- Services ------------------------------------------------------------------------------

function ServiceDialog({ service, doctors, onClose, onSaved }) {
  const { clinic } = useApp();
  const source = service
    ? { name: service.name, duration_minutes: String(service.duration_minutes), price: String(service.price), doctor_ids: service.doctor_ids }
    : { name: "", duration_minutes: "15", price: "0", doctor_ids: [] };
  const form = useForm(source);
  const toggle = (id) => {
    const ids = form.values.doctor_ids;
    form.set("doctor_ids", ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]);
  };
  const submit = async (e) => {
    e && e.preventDefault();
    const ok = await form.save(async (v) => {
      const body = { name: v.name.trim(), duration_minutes: Number(v.duration_minutes), price: Number(v.price || 0), doctor_ids: v.doctor_ids };
      const saved = service ? await api.patch(`/services/${service.id}`, body)
        : await api.post("/services", { clinic_id: clinic.id, ...body });
      toast(`${saved.name} saved`);
    }, ["name", "duration_minutes", "price", "doctor_ids"]);
    if (ok) { onSaved(); onClose(); }
  };
  return html`<${Dialog} title=${service ? `Edit ${service.name}` : "New service"} onClose=${onClose}
    footer=${html`<button type="button" onClick=${onClose}>Cancel</button>
      <button class="primary" onClick=${submit} disabled=${form.busy || !form.values.name.trim()}>Save</button>`}>
    <form onSubmit=${submit}>
      <${Input} form=${form} name="name" label="Service name" maxlength="120" placeholder="Consultation" autofocus />
      <div class="row">
        <${Input} form=${form} name="duration_minutes" label="Length (minutes)" type="number" min="5" max="720" step="5" />
        <${Input} form=${form} name="price" label="Price (₹)" type="number" min="0" step="1" />
      </div>
      <fieldset class="doctor-picks">
        <legend>Doctors who offer it</legend>
        ${doctors.map((d) => html`<label class="check" key=${d.id}>
          <input type="checkbox" checked=${form.values.doctor_ids.includes(d.id)} onChange=${() => toggle(d.id)} /> ${d.name}${d.active ? "" : " (inactive)"}</label>`)}
        <span class="hint">${form.values.doctor_ids.length ? "" : "None ticked: every doctor offers it."}</span>
        ${form.errors.doctor_ids && html`<span class="error" role="alert">${form.errors.doctor_ids}</span>`}
      </fieldset>
      ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

function ServicesSection() {
  const { clinic, doctors, reloadSetup } = useApp();
  const { data, error, reload } = useData((signal) => api.get("/services", { clinic_id: clinic.id }, { signal }), [clinic.id]);
  const [dialog, setDialog] = useState(null); // { service } | { service: null }
  const refresh = () => { reload(); reloadSetup(); };
  const names = Object.fromEntries(doctors.map((d) => [d.id, d.name]));
  const setActive = async (s, active) => {
    try {
      await api.patch(`/services/${s.id}`, { active });
      refresh();
      toast(active ? `${s.name} offered again` : `${s.name} is no longer offered`, {
        undo: async () => { try { await api.patch(`/services/${s.id}`, { active: !active }); } catch (e) { toast(`Could not undo: ${e.message}`, { bad: true }); } refresh(); },
      });
    } catch (e) {
      toast(`Could not change ${s.name}: ${e.message}`, { bad: true });
    }
  };
  return html`<${Section} title="Services" intro="What patients can book, how long it takes, and with whom."
      actions=${html`<button class="primary small" onClick=${() => setDialog({ service: null })}>+ Add service</button>`}>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} />`}
    ${data && data.length === 0 && html`<${Empty} title="No services yet">Add one, such as “Consultation, 15 minutes”.<//>`}
    ${data && data.length > 0 && html`<table class="grid">
      <thead><tr><th>Service</th><th>Length</th><th>Price</th><th>Doctors</th><th>Status</th><th class="actions"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${data.map((s) => html`<tr key=${s.id} class=${s.active ? "" : "inactive"}>
        <td><strong>${s.name}</strong></td>
        <td class="num">${s.duration_minutes} min</td>
        <td class="num">${money(s.price)}</td>
        <td>${s.doctor_ids.length ? s.doctor_ids.map((id) => names[id] || "?").join(", ") : html`<span class="muted">Every doctor</span>`}</td>
        <td>${s.active ? html`<${Chip} tone="ok">Offered<//>` : html`<${Chip}>Not offered<//>`}</td>
        <td class="actions">
          <button class="small" aria-label=${`Edit ${s.name}`} onClick=${() => setDialog({ service: s })}>Edit</button>
          ${s.active ? html`<button class="small danger" aria-label=${`Stop offering ${s.name}`} onClick=${() => setActive(s, false)}>Stop offering</button>`
            : html`<button class="small" aria-label=${`Offer ${s.name} again`} onClick=${() => setActive(s, true)}>Offer again</button>`}
        </td>
      </tr>`)}</tbody>
    </table>`}
    ${dialog && html`<${ServiceDialog} service=${dialog.service} doctors=${doctors} onClose=${() => setDialog(null)} onSaved=${refresh} />`}
  <//>`;
}

// ---- Working hours -------------------------------------------------------------------------

function HoursSection({ route }) {
  const { doctors } = useApp();
  const doctorId = route.query.get("doctor") || (doctors.find((d) => d.active) || doctors[0] || {}).id;
  const doctor = doctors.find((d) => d.id === doctorId);
  const { data, error, reload } = useData(
    (signal) => (doctorId ? api.get("/working-hours", { doctor_id: doctorId }, { signal }) : Promise.resolve([])), [doctorId],
  );
  const [items, setItems] = useState(null);
  const [dirty, setDirtyState] = useState(false);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const edited = useRef(false); // a ref: an edit may come before the effects below run
  const setDirty = (x) => { edited.current = x; setDirtyState(x); };
  const shownFor = useRef(doctorId);
  useEffect(() => {
    if (shownFor.current === doctorId) return;
    shownFor.current = doctorId;
    setDirty(false); setItems(null); setErrors({});
  }, [doctorId]);
  useEffect(() => { if (data && !edited.current) setItems(asItems(data)); }, [data]);

  if (!doctors.length) return html`<${Section} title="Working hours"><${Empty} title="No doctors yet">Add a doctor in <a href="#/settings?section=doctors">Doctors</a> first.<//><//>`;
  const edit = (next) => { setItems(next); setDirty(true); setErrors({}); };
  const save = async (e) => {
    e && e.preventDefault();
    const problems = hoursProblems(items);
    if (Object.keys(problems).length) { setErrors(problems); toast("Not saved: some hours need fixing", { bad: true }); return; }
    setBusy(true);
    const before = data;
    try {
      const current = await api.get("/working-hours", { doctor_id: doctorId });
      await applyHours(doctorId, current, items);
      setDirty(false);
      toast(`Working hours of ${doctor.name} saved`, {
        undo: async () => {
          try {
            await applyHours(doctorId, await api.get("/working-hours", { doctor_id: doctorId }), asItems(before));
            toast(`Undone: ${doctor.name}'s hours are as before`);
          } catch (err) { toast(`Could not undo: ${err.message}`, { bad: true }); }
          reload();
        },
      });
    } catch (err) {
      setErrors(err.key ? { [err.key]: err.message } : { _: err.message });
      toast(`Not saved: ${err.message}`, { bad: true });
    } finally {
      setBusy(false);
      reload();
    }
  };
  const pick = html`<label class="inline-label">Doctor
    <select aria-label="Doctor" value=${doctorId} onChange=${(e) => setQuery({ doctor: e.target.value })}>
      ${doctors.map((d) => html`<option value=${d.id}>${d.name}${d.active ? "" : " (inactive)"}</option>`)}
    </select></label>`;
  return html`<${Section} title="Working hours" actions=${pick}
      intro="When each doctor sees patients. Free times for booking (here and on WhatsApp) come from these hours, minus time off and appointments.">
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!items && !error && html`<${Loading} />`}
    ${items && html`<form onSubmit=${save} data-save>
      <${WeekHours} items=${items} onChange=${edit} errors=${errors} />
      <div class="form-foot">
        ${errors._ && html`<div class="notice bad" role="alert">${errors._}</div>`}
        <button class="primary" type="submit" disabled=${!dirty || busy}>${busy ? "Saving…" : "Save hours"}</button>
        ${dirty && html`<button type="button" onClick=${() => { setItems(asItems(data)); setDirty(false); setErrors({}); }}>Discard changes</button>
          <span class="muted unsaved">Unsaved changes</span>`}
        ${!dirty && html`<span class="muted">${describeWeek(items)}</span>`}
      </div>
    </form>`}
  <//>`;
}

// ---- Time off ------------------------------------------------------------------------------

/** "Tue 8 Dec 2026" or "Tue 8 Dec 2026, 2:00 pm – 6:00 pm", from a stored span. */
function describeSpan(t) {
  const day = t.starts_at.slice(0, 10);
  const end = t.ends_at.slice(0, 10);
  const whole = t.starts_at.slice(11, 16) === "00:00" && t.ends_at.slice(11, 16) === "00:00";
  if (whole) {
    const last = addDays(end, -1);
    return last === day ? longDate(day) : `${longDate(day)} – ${longDate(last)}`;
  }
  return day === end ? `${longDate(day)}, ${time(t.starts_at)} – ${time(t.ends_at)}`
    : `${longDate(day)} ${time(t.starts_at)} – ${longDate(end)} ${time(t.ends_at)}`;
}

/** The form's values for a stored span (whole days, or part of a day). */
function spanForm(t) {
  const whole = t.starts_at.slice(11, 16) === "00:00" && t.ends_at.slice(11, 16) === "00:00";
  const end = t.ends_at.slice(0, 10);
  return {
    who: t.doctor_id || "", from: t.starts_at.slice(0, 10), until: whole ? addDays(end, -1) : end,
    partial: !whole, from_time: whole ? "09:00" : t.starts_at.slice(11, 16), until_time: whole ? "13:00" : t.ends_at.slice(11, 16),
    reason: t.reason,
  };
}

function TimeOffSection() {
  const { clinic, doctors } = useApp();
  const { data, error, reload } = useData((signal) => api.get("/time-off", { clinic_id: clinic.id }, { signal }), [clinic.id]);
  const [past, setPast] = useState(false);
  const [editing, setEditing] = useState(null); // the time off being changed, else a new one
  const today = todayIso();
  const blank = { who: "", from: today, until: today, partial: false, from_time: "09:00", until_time: "13:00", reason: "" };
  const form = useForm(blank);
  const names = Object.fromEntries(doctors.map((d) => [d.id, d.name]));
  const v = form.values;
  const edit = (t) => { setEditing(t); form.load(t ? spanForm(t) : blank); };
  const add = (e) => {
    e.preventDefault();
    form.save(async () => {
      if (v.until < v.from) { const err = new Error("The last day cannot be before the first."); err.field = "until"; throw err; }
      const span = {
        starts_at: `${v.from}T${v.partial ? v.from_time : "00:00"}`,
        ends_at: v.partial ? `${v.until}T${v.until_time}` : `${addDays(v.until, 1)}T00:00`,
        reason: v.reason.trim(),
      };
      try {
        if (editing) await api.patch(`/time-off/${editing.id}`, span);
        else await api.post("/time-off", { clinic_id: clinic.id, ...span, ...(v.who ? { doctor_id: v.who } : {}) });
      } catch (err) {
        if (err.field === "starts_at") err.field = "from";
        if (err.field === "ends_at") err.field = "until";
        throw err;
      }
      const what = v.who ? `Leave for ${names[v.who]}` : "Clinic holiday";
      toast(`${what} ${editing ? "changed" : "added"}`);
      setEditing(null);
      reload();
    }, ["from", "until", "reason", "who"]);
  };
  const remove = async (t) => {
    try {
      await api.del(`/time-off/${t.id}`);
      reload();
      toast(`Removed: ${t.reason || "time off"} (${describeSpan(t)})`, {
        undo: async () => {
          const again = { clinic_id: t.clinic_id, starts_at: t.starts_at, ends_at: t.ends_at, reason: t.reason };
          if (t.doctor_id) again.doctor_id = t.doctor_id;
          try { await api.post("/time-off", again); } catch (err) { toast(`Could not undo: ${err.message}`, { bad: true }); }
          reload();
        },
      });
    } catch (err) {
      toast(`Could not remove it: ${err.message}`, { bad: true });
    }
  };
  const now = Date.now();
  const shown = (data || []).filter((t) => past || new Date(t.ends_at).getTime() > now)
    .sort((a, b) => (a.starts_at < b.starts_at ? -1 : 1));
  return html`<${Section} title="Time off" intro="Clinic holidays close the clinic for everyone; leave blocks one doctor. No one can book into them.">
    <form class="timeoff-form" onSubmit=${add} data-save>
      <div class="row">
        <${Field} label="Who" error=${form.errors.who} hint=${editing ? "To change who, remove it and add it again" : ""}>
          <select aria-label="Who" value=${v.who} disabled=${Boolean(editing)} onChange=${(e) => form.set("who", e.target.value)}>
            <option value="">The whole clinic (holiday)</option>
            ${doctors.map((d) => html`<option value=${d.id}>${d.name} (leave)</option>`)}
          </select><//>
        <${Input} form=${form} name="from" label="First day" type="date" />
        <${Input} form=${form} name="until" label="Last day" type="date" min=${v.from} />
        <${Input} form=${form} name="reason" label="Reason" placeholder="Diwali" maxlength="200" />
      </div>
      <div class="row partial-row">
        <label class="check"><input type="checkbox" checked=${v.partial} onChange=${(e) => form.set("partial", e.target.checked)} /> Only part of the day</label>
        ${v.partial && html`<${Input} form=${form} name="from_time" label="From" type="time" step="300" />
          <${Input} form=${form} name="until_time" label="Until" type="time" step="300" />`}
        <span class="spacer"></span>
        ${editing && html`<button type="button" onClick=${() => edit(null)}>Cancel</button>`}
        <button class="primary" type="submit" disabled=${form.busy}>${editing ? "Save changes" : "+ Add time off"}</button>
      </div>
      ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
    </form>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} />`}
    ${data && html`<div class="list-head"><h3>${past ? "All time off" : "Coming up"}</h3>
      <label class="check"><input type="checkbox" checked=${past} onChange=${(e) => setPast(e.target.checked)} /> Show past</label></div>`}
    ${data && shown.length === 0 && html`<${Empty} title=${past ? "No time off recorded" : "No holidays or leave coming up"}>Add one above when the clinic closes or a doctor is away.<//>`}
    ${shown.length > 0 && html`<table class="grid timeoff-list">
      <thead><tr><th>When</th><th>Who</th><th>Reason</th><th class="actions"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${shown.map((t) => html`<tr key=${t.id} class=${editing && editing.id === t.id ? "editing" : new Date(t.ends_at).getTime() <= now ? "inactive" : ""}>
        <td class="nowrap">${describeSpan(t)}</td>
        <td>${t.doctor_id ? names[t.doctor_id] || "A doctor" : html`<${Chip} tone="warn">Whole clinic<//>`}</td>
        <td>${t.reason || html`<span class="faint">—</span>`}</td>
        <td class="actions">
          <button class="small" aria-label=${`Change ${t.reason || "time off"} on ${describeSpan(t)}`} onClick=${() => edit(t)}>Change</button>
          <button class="small danger" aria-label=${`Remove ${t.reason || "time off"} on ${describeSpan(t)}`} onClick=${() => remove(t)}>Remove</button></td>
      </tr>`)}</tbody>
    </table>`}
  <//>`;
}

// ---- Booking rules and reminders ---------------------------------------------------------------

const STEPS = [5, 10, 15, 20, 30, 60];

function inWords(minutes) {
  const m = Number(minutes);
  if (!Number.isFinite(m)) return "";
  if (m === 0) return "no notice: a patient may book a time about to start";
  if (m % 1440 === 0) return `${m / 1440} ${m === 1440 ? "day" : "days"}`;
  if (m % 60 === 0) return `${m / 60} h`;
  return m > 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

function RulesSection() {
  const { clinic, reloadSetup } = useApp();
  const source = { min_notice_minutes: String(clinic.min_notice_minutes), horizon_days: String(clinic.horizon_days), slot_step_minutes: String(clinic.slot_step_minutes) };
  const form = useForm(source);
  const fields = Object.keys(source);
  const submit = (e) => {
    e.preventDefault();
    form.save(async (v) => {
      const body = Object.fromEntries(Object.entries(changed(source, v)).map(([k, x]) => [k, Number(x)]));
      await api.patch(`/clinics/${clinic.id}`, body);
      await reloadSetup();
      toast("Booking rules saved");
    }, fields);
  };
  const steps = STEPS.includes(Number(form.values.slot_step_minutes)) ? STEPS : [...STEPS, Number(form.values.slot_step_minutes)];
  return html`<${Section} title="Booking rules" intro="What patients may book on WhatsApp. The front desk may book any free time, at any notice.">
    <form class="form-grid" onSubmit=${submit} data-save>
      <${Input} form=${form} name="min_notice_minutes" label="Minimum notice (minutes)" type="number" min="0" max="43200" step="5"
        hint=${`Patients book at least ${inWords(form.values.min_notice_minutes)} ahead`} />
      <${Input} form=${form} name="horizon_days" label="Booking horizon (days)" type="number" min="1" max="730"
        hint=${`Patients may book up to ${form.values.horizon_days || "?"} days ahead`} />
      <${Field} label="Slot grid" error=${form.errors.slot_step_minutes} hint="Appointments start on this grid (10:00, 10:15, …)">
        <select aria-label="Slot grid" value=${form.values.slot_step_minutes} onChange=${(e) => form.set("slot_step_minutes", e.target.value)}>
          ${steps.map((s) => html`<option value=${String(s)}>Every ${s} minutes</option>`)}
        </select><//>
      <div class="span-2"><${FormFoot} form=${form} /></div>
    </form>
  <//>`;
}

/** 1440 -> "24 h", 90 -> "90 min". */
export function beforeWords(minutes) {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

function RemindersSection() {
  const { clinic, reloadSetup } = useApp();
  const source = { reminder_minutes: [...clinic.reminder_minutes].sort((a, b) => b - a), reminder_template: clinic.reminder_template, stale_message_hours: String(clinic.stale_message_hours) };
  const form = useForm(source);
  const [amount, setAmount] = useState("");
  const [unit, setUnit] = useState("60");
  const list = form.values.reminder_minutes;
  const addReminder = () => {
    const minutes = Math.round(Number(amount) * Number(unit));
    if (!(minutes >= 5 && minutes <= 14 * 1440)) { form.setErrors({ reminder_minutes: "Between 5 minutes and 14 days before the visit." }); return; }
    if (list.includes(minutes)) { form.setErrors({ reminder_minutes: `There is already a reminder ${beforeWords(minutes)} before.` }); return; }
    form.set("reminder_minutes", [...list, minutes].sort((a, b) => b - a));
    setAmount("");
  };
  const submit = (e) => {
    e.preventDefault();
    form.save(async (v) => {
      const body = changed(source, v);
      if ("stale_message_hours" in body) body.stale_message_hours = Number(body.stale_message_hours);
      await api.patch(`/clinics/${clinic.id}`, body);
      await reloadSetup();
      toast("Reminder settings saved");
    }, ["reminder_minutes", "reminder_template", "stale_message_hours"]);
  };
  return html`<${Section} title="Reminders" intro="WhatsApp reminders before each visit, with Confirm, Cancel and Reschedule buttons.">
    <form onSubmit=${submit} data-save>
      <div class="field"><span class="label" id="reminders-label">Send reminders</span>
        <div class="reminder-list" aria-labelledby="reminders-label">
          ${list.length === 0 ? html`<span class="muted">No reminders: patients get none.</span>`
            : list.map((m) => html`<span class="chip accent" key=${m}>${beforeWords(m)} before
              <button type="button" class="chip-x" aria-label=${`Remove the reminder ${beforeWords(m)} before`} onClick=${() => form.set("reminder_minutes", list.filter((x) => x !== m))}>✕</button></span>`)}
          <span class="muted summary">${list.length ? `${list.map(beforeWords).join(", ")} before the visit` : ""}</span>
        </div>
        ${form.errors.reminder_minutes && html`<span class="error" role="alert">${form.errors.reminder_minutes}</span>`}
      </div>
      ${list.length < 4 && html`<div class="row add-reminder">
        <${Field} label="Add a reminder"><input type="number" min="1" max="336" aria-label="Reminder time before the visit" placeholder="3" value=${amount}
          onInput=${(e) => setAmount(e.target.value)} onKeyDown=${(e) => { if (e.key === "Enter") { e.preventDefault(); addReminder(); } }} /><//>
        <${Field} label="Unit"><select aria-label="Unit" value=${unit} onChange=${(e) => setUnit(e.target.value)}>
          <option value="1">minutes before</option><option value="60">hours before</option><option value="1440">days before</option></select><//>
        <button type="button" onClick=${addReminder} disabled=${!amount}>+ Add</button>
      </div>`}
      <div class="form-grid">
        <${Input} form=${form} name="reminder_template" label="WhatsApp template" maxlength="512"
          hint="The approved template used when the patient has not written for 24 hours" />
        <${Input} form=${form} name="stale_message_hours" label="Old messages (hours)" type="number" min="1" max="168"
          hint="A message older than this (delivered late) gets the menu, not an action" />
      </div>
      <${FormFoot} form=${form} />
    </form>
  <//>`;
}

// ---- WhatsApp: credentials, connection test, webhook tunnel, relay ---------------------------

const SENDER_STATE = {
  ok: ["ok", "Sending"], retrying: ["warn", "Retrying"], auth_failed: ["bad", "Token refused"],
  not_configured: ["", "Not set up"], stopped: ["bad", "Stopped"],
};
const TUNNEL_STATE = {
  off: ["", "Off"], starting: ["warn", "Starting…"], running: ["ok", "Running"],
  restarting: ["warn", "Restarting"], unavailable: ["bad", "Not installed"],
};
const RELAY_STATE = {
  off: ["", "Off"], starting: ["warn", "Starting…"], polling: ["ok", "Connected"],
  retrying: ["warn", "Retrying"], misconfigured: ["bad", "Needs the app secret"],
};

function StateChip({ map, state }) {
  const [tone, words] = map[state] || ["", state];
  return html`<${Chip} tone=${tone}>${words}<//>`;
}

async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied`);
  } catch {
    toast(`Could not copy: select the ${what.toLowerCase()} and press Ctrl+C`, { bad: true });
  }
}

/** One saved-or-environment setting as an input: secrets are never shown, only replaced. */
function SettingInput({ form, name, label, state, secret = false, hint, placeholder, extra }) {
  if (!state) return null;
  const error = form.errors[name];
  if (state.source === "environment") {
    return html`<${Field} label=${label} hint=${`Set by the environment (${state.env_var}), which wins over this screen.`}>
      <input aria-label=${label} disabled value=${secret ? `Set · ${state.hint || "hidden"}` : state.value || ""} /><//>`;
  }
  const cleared = form.values[`clear_${name}`];
  const saved = state.source === "saved" && !cleared;
  const shown = secret && saved ? `Saved${state.hint ? ` · ends ${state.hint}` : ""} · type to replace` : placeholder || "Not set";
  return html`<${Field} label=${label} error=${error} hint=${hint}>
    <div class="input-with">
      <input aria-label=${label} name=${name} type=${secret ? "password" : "text"} autocomplete="off" spellcheck=${false}
        aria-invalid=${error ? "true" : undefined} placeholder=${shown} value=${form.values[name] ?? ""}
        onInput=${(e) => form.set(name, e.target.value)} />
      ${extra}
      ${state.source === "saved" && secret && !cleared && html`<button type="button" class="small ghost" aria-label=${`Remove the saved ${label.toLowerCase()}`}
        onClick=${() => { form.set(`clear_${name}`, true); form.set(name, ""); }}>Remove</button>`}
      ${cleared && html`<span class="muted">Removed on save</span>`}
    </div><//>`;
}

/** The body of PUT /settings/whatsapp for the names in the form that changed. */
function settingChanges(values, source, names, secrets) {
  const body = {};
  for (const name of names) {
    const typed = (values[name] ?? "").trim();
    if (secrets.includes(name)) {
      if (typed) body[name] = typed;
      else if (values[`clear_${name}`]) body[name] = null;
    } else if (typed !== (source[name] ?? "")) {
      body[name] = typed || null;
    }
  }
  return body;
}

const CREDENTIALS = ["whatsapp_access_token", "whatsapp_phone_number_id", "whatsapp_app_secret", "whatsapp_verify_token"];
const CREDENTIAL_SECRETS = ["whatsapp_access_token", "whatsapp_app_secret", "whatsapp_verify_token"];

function randomToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

function CredentialsPanel({ settings, onSaved }) {
  const source = { whatsapp_phone_number_id: settings.whatsapp_phone_number_id.value || "" };
  const form = useForm(source);
  const [test, setTest] = useState(null); // null | "running" | result
  const body = settingChanges(form.values, source, CREDENTIALS, CREDENTIAL_SECRETS);
  const dirty = form.dirty && Object.keys(body).length > 0;
  const save = () => form.save(async () => {
    await api.put("/settings/whatsapp", body);
    await onSaved();
    toast("WhatsApp settings saved: in use now");
  }, CREDENTIALS);
  const runTest = async () => {
    if (dirty && !(await save())) return;
    setTest("running");
    try {
      setTest(await api.post("/settings/whatsapp/test"));
    } catch (e) {
      setTest({ ok: false, outcome: "error", detail: e.message });
    }
  };
  const submit = (e) => { e.preventDefault(); save(); };
  const s = settings;
  return html`<${Section} title="WhatsApp Cloud API"
      intro="From Meta's dashboard: WhatsApp › API Setup (token, phone number ID) and App settings › Basic (app secret). They apply at once, without a restart.">
    <form class="form-grid" onSubmit=${submit} data-save>
      <div class="span-2"><${SettingInput} form=${form} name="whatsapp_access_token" label="Access token" state=${s.whatsapp_access_token} secret
        hint="A system user's permanent token is best: a temporary one expires within a day." /></div>
      <${SettingInput} form=${form} name="whatsapp_phone_number_id" label="Phone number ID" state=${s.whatsapp_phone_number_id}
        placeholder="e.g. 106540352242922" hint="Digits; not the phone number itself." />
      <${SettingInput} form=${form} name="whatsapp_app_secret" label="App secret" state=${s.whatsapp_app_secret} secret
        hint="Checks that webhooks really come from Meta." />
      <div class="span-2"><${SettingInput} form=${form} name="whatsapp_verify_token" label="Verify token" state=${s.whatsapp_verify_token} secret
        hint="Any phrase you choose; enter the same in Meta's webhook settings."
        extra=${html`<button type="button" class="small" onClick=${() => form.set("whatsapp_verify_token", randomToken())}>Make one</button>`} /></div>
      <details class="span-2 advanced"><summary>Advanced</summary>
        <p class="muted">Graph API address: <code>${s.whatsapp_api_base.value}</code>
          ${s.whatsapp_api_base.source === "environment" ? " (set by the environment)" : ` (the default; change it with ${s.whatsapp_api_base.env_var})`}.
          Saved settings are kept in <code>${s.file}</code>.</p>
      </details>
      <div class="span-2 form-foot">
        ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
        <button class="primary" type="submit" disabled=${!dirty || form.busy}>${form.busy ? "Saving…" : "Save"}</button>
        <button type="button" onClick=${runTest} disabled=${test === "running" || form.busy}>${test === "running" ? "Testing…" : dirty ? "Save and test" : "Test connection"}</button>
        ${form.dirty && html`<button type="button" onClick=${() => form.reset()}>Discard changes</button>`}
      </div>
    </form>
    ${test && test !== "running" && html`<div class=${`notice test-result ${test.ok ? "good" : "bad"}`} role="status" aria-label="Connection test">
      <strong>${test.ok ? "Connected" : "Not connected"}</strong> · ${test.detail}</div>`}
  <//>`;
}

function SenderPanel({ clinic }) {
  const { data } = useData((signal) => api.get("/messages/sender", { clinic_id: clinic.id }, { signal }), [clinic.id]);
  if (!data) return null;
  return html`<div class="sender-line" aria-label="Sending messages">
    <strong>Sending</strong> <${StateChip} map=${SENDER_STATE} state=${data.state} />
    <span class="muted">${data.detail}</span>
    <span class="spacer"></span>
    <span class="muted">${data.backlog} waiting · ${data.failed} failed${data.last_success_at ? ` · last sent ${ago(data.last_success_at)}` : ""}</span>
    ${data.failed > 0 && html`<a href="#/inbox?failed=1">See failed</a>`}
  </div>`;
}

function TunnelPanel({ settings }) {
  const [tunnel, setTunnel] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let gone = false;
    let timer = null;
    const load = () => api.get("/tunnel").then((t) => {
      if (gone) return;
      setTunnel(t);
      timer = setTimeout(load, t.state === "starting" || t.state === "restarting" ? 1500 : 10000);
    }, () => { if (!gone) timer = setTimeout(load, 10000); });
    load();
    return () => { gone = true; clearTimeout(timer); };
  }, []);
  const act = async (what) => {
    setBusy(true);
    try { setTunnel(await api.post(`/tunnel/${what}`)); } catch (e) { toast(`Could not ${what} the tunnel: ${e.message}`, { bad: true }); } finally { setBusy(false); }
  };
  const verifySet = settings.whatsapp_verify_token.source !== "unset";
  const running = tunnel && ["starting", "running", "restarting"].includes(tunnel.state);
  return html`<${Section} title="Receiving messages: webhook"
      intro="Meta delivers patients' messages to a public address. The tunnel (cloudflared) gives this PC one without opening a port; a new address each time it starts, so enter it again in Meta's dashboard (WhatsApp › Configuration › Callback URL)."
      actions=${tunnel && tunnel.state !== "unavailable" && (running
        ? html`<button class="small" disabled=${busy} onClick=${() => act("stop")}>Stop tunnel</button>`
        : html`<button class="small primary" disabled=${busy} onClick=${() => act("start")}>Start tunnel</button>`)}>
    ${!tunnel && html`<${Loading} />`}
    ${tunnel && html`<dl class="facts">
      <dt>Tunnel</dt><dd><${StateChip} map=${TUNNEL_STATE} state=${tunnel.state} />${tunnel.restarts > 0 ? html` <span class="muted">restarted ${tunnel.restarts}×</span>` : ""}</dd>
      <dt>Callback URL</dt><dd>${tunnel.callback_url
        ? html`<code class="url">${tunnel.callback_url}</code> <button class="small" onClick=${() => copyText(tunnel.callback_url, "Callback URL")}>Copy</button>`
        : html`<span class="muted">${tunnel.state === "starting" ? "Waiting for cloudflared's address…" : "Start the tunnel to get the address."}</span>`}</dd>
      <dt>Verify token</dt><dd>${verifySet ? html`<${Chip} tone="ok">Set<//> <span class="muted">enter the same in Meta's dashboard</span>`
        : html`<${Chip} tone="warn">Not set<//> <span class="muted">Meta's check needs one: set it above</span>`}</dd>
      <dt>App secret</dt><dd>${settings.whatsapp_app_secret.source !== "unset" ? html`<${Chip} tone="ok">Set<//>`
        : html`<${Chip} tone="bad">Not set<//> <span class="muted">every webhook is refused until it is</span>`}</dd>
    </dl>
    ${tunnel.last_error && html`<div class="notice warn" role="status">${tunnel.last_error}</div>`}`}
  <//>`;
}

const RELAY_NAMES = ["relay_url", "relay_token"];

function RelayPanel({ settings, onSaved }) {
  const source = { relay_url: settings.relay_url.value || "" };
  const form = useForm(source);
  const { data: relay, reload } = useData((signal) => api.get("/relay", null, { signal }), []);
  useEffect(() => {
    if (!relay || !["starting", "retrying"].includes(relay.state)) return undefined;
    const t = setTimeout(reload, 2000);
    return () => clearTimeout(t);
  }, [relay]);
  const body = settingChanges(form.values, source, RELAY_NAMES, ["relay_token"]);
  const submit = (e) => {
    e.preventDefault();
    form.save(async () => {
      await api.put("/settings/whatsapp", body);
      await onSaved();
      reload();
      toast("Relay settings saved: in use now");
    }, RELAY_NAMES);
  };
  return html`<${Section} title="Relay" intro="Instead of a tunnel, a relay on a small server (clinicbot relay) can keep Meta's webhooks until this PC fetches them. Leave empty if you use the tunnel."
      actions=${relay && html`<${StateChip} map=${RELAY_STATE} state=${relay.state} />`}>
    <form class="form-grid" onSubmit=${submit} data-save>
      <${SettingInput} form=${form} name="relay_url" label="Relay URL" state=${settings.relay_url} placeholder="https://relay.example.com" />
      <${SettingInput} form=${form} name="relay_token" label="Relay token" state=${settings.relay_token} secret hint="The relay's CLINICBOT_RELAY_TOKEN." />
      <div class="span-2 form-foot">
        ${form.errors._ && html`<div class="notice bad" role="alert">${form.errors._}</div>`}
        <button class="primary" type="submit" disabled=${!Object.keys(body).length || form.busy}>Save relay</button>
        ${form.dirty && html`<button type="button" onClick=${() => form.reset()}>Discard changes</button>`}
      </div>
    </form>
    ${relay && relay.state !== "off" && html`<dl class="facts">
      <dt>Last answer</dt><dd>${relay.last_success ? ago(relay.last_success) : html`<span class="muted">not yet</span>`}</dd>
      <dt>Received</dt><dd>${relay.received} webhooks since start${relay.skipped ? `, ${relay.skipped} refused` : ""}</dd>
      ${relay.last_error && html`<dt>Problem</dt><dd class="bad-text">${relay.last_error}${relay.retry_in !== null ? ` · next try in ${Math.ceil(relay.retry_in)} s` : ""}</dd>`}
    </dl>`}
  <//>`;
}

function WhatsAppSection() {
  const { clinic } = useApp();
  const { data, error, reload } = useData((signal) => api.get("/settings/whatsapp", null, { signal }), [], { live: false });
  const saved = async () => reload();
  if (error) return html`<${Section} title="WhatsApp"><${ErrorBox} error=${error} retry=${reload} /><//>`;
  if (!data) return html`<${Loading} />`;
  return html`<div class="stack">
    <${SenderPanel} clinic=${clinic} />
    <${CredentialsPanel} settings=${data} onSaved=${saved} />
    <${TunnelPanel} settings=${data} />
    <${RelayPanel} settings=${data} onSaved=${saved} />
  </div>`;
}

// ---- Staff token -----------------------------------------------------------------------------

function TokenSection() {
  const { data: info, error } = useData((signal) => api.get("/settings/staff-token", null, { signal }), [], { live: false });
  const [current, setCurrent] = useState(token.get() || "");
  const [shown, setShown] = useState(false);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  // A long token may show its last four characters; a short one shows none.
  const masked = current ? "•".repeat(Math.max(8, Math.min(28, current.length - 4))) + (current.length >= 16 ? current.slice(-4) : "") : "";
  const rotate = async () => {
    setBusy(true);
    try {
      const made = await api.post("/settings/staff-token");
      token.set(made.token);
      setCurrent(made.token);
      setShown(false);
      setAsking(false);
      toast("New staff token in use. Other windows and browsers must sign in with it.");
    } catch (e) {
      toast(`Not changed: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title="Staff token" intro="The key that opens this window and the staff API. The desktop window signs in with it by itself; a browser asks for it once.">
    ${error && html`<${ErrorBox} error=${error} />`}
    <div class="token-row">
      <input class="token" readonly aria-label="Staff token" value=${shown ? current : masked} size=${Math.min(48, Math.max(24, current.length + 2))} />
      <button class="small" onClick=${() => setShown(!shown)} aria-pressed=${shown}>${shown ? "Hide" : "Reveal"}</button>
      <button class="small" onClick=${() => copyText(current, "Staff token")}>Copy</button>
    </div>
    ${info && info.source === "environment" && html`<p class="notice">This token is set by CLINICBOT_STAFF_TOKEN in the environment. To change it, change it there and restart clinicbot.</p>`}
    ${info && info.source === "file" && html`<p class="muted">Kept in <code>${info.file}</code> on this PC.</p>
      <button class="danger" onClick=${() => setAsking(true)}>Change the token…</button>`}
    ${asking && html`<${Dialog} title="Change the staff token?" onClose=${() => setAsking(false)}
        footer=${html`<button onClick=${() => setAsking(false)}>Keep the current token</button>
          <button class="primary" disabled=${busy} onClick=${rotate}>Change it now</button>`}>
      <p>A new token is made and the current one stops working at once.</p>
      <p>This window keeps working. Any other browser or PC signed in with the current token will have to sign in again with the new one (copy it from here).</p>
    <//>`}
  <//>`;
}

// ---- the screen ------------------------------------------------------------------------------

const VIEWS = {
  clinic: ClinicSection, doctors: DoctorsSection, services: ServicesSection, hours: HoursSection,
  timeoff: TimeOffSection, rules: RulesSection, reminders: RemindersSection, whatsapp: WhatsAppSection,
  token: TokenSection, backups: BackupsSection,
  data: DataSection,
  health: HealthSection,
};

export default function Settings({ route }) {
  const name = VIEWS[route.query.get("section")] ? route.query.get("section") : "clinic";
  const View = VIEWS[name];
  const main = useRef(null);
  const go = (delta) => {
    const i = SECTIONS.findIndex(([k]) => k === name);
    const next = SECTIONS[(i + delta + SECTIONS.length) % SECTIONS.length][0];
    setQuery({ section: next, doctor: null });
  };
  useShortcuts("Settings", {
    "Ctrl+s": { label: "Save this section", inFields: true, run: () => {
      const form = main.current && main.current.querySelector("form[data-save]");
      if (form) form.requestSubmit();
    } },
    "[": { label: "Previous section", run: () => go(-1) },
    "]": { label: "Next section", run: () => go(1) },
  }, [name]);
  return html`<div class="page settings">
    <div class="page-head"><h1>Settings</h1><span class="muted">${SECTIONS.find(([k]) => k === name)[1]}</span></div>
    <div class="settings-layout">
      <nav class="settings-nav" aria-label="Settings sections">
        ${SECTIONS.map(([k, label, sub]) => html`<a href=${`#/settings?section=${k}`} aria-current=${k === name ? "page" : undefined}>
          ${label}<small>${sub}</small></a>`)}
      </nav>
      <div class="settings-main" ref=${main}><${View} key=${name} route=${route} /></div>
    </div>
  </div>`;
}
