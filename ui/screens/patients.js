// Patients: who is this caller, and how often do they come or miss. A list searched as you
// type (a name or any run of digits of the phone), a profile with counters, edits, the
// history with its upcoming visits, a booking button and the WhatsApp thread, and a
// new-patient form whose phone the server validates.
import { html, useState, useEffect, useRef } from "../lib/html.js";
import { api } from "../lib/api.js";
import {
  useApp, useData, useShortcuts, StatusLabel, SourceTag, Empty, ErrorBox, Loading, Dialog, Field, toast,
} from "../lib/ui.js";
import { BookingDialog } from "../lib/booking.js";
import { navigate, setQuery } from "../lib/router.js";
import { longDate, shortDate, time, dateTime, phone as showPhone, percent, timeZone, weekdayName } from "../lib/format.js";

const PAGE = 50;
const HISTORY_PAGE = 50;
let lastList = "#/patients"; // where Esc on a profile goes back to: the last search shown

/** The digits of a phone-like search ("98765 4"), as the server reads it; else null. */
function phoneDigits(text) {
  return /^[\d\s()+\-.]+$/.test(text) && /\d/.test(text) ? text.replace(/\D/g, "") : null;
}

/** What a search box's text fills in on the new-patient form. */
function prefill(text) {
  const t = text.trim();
  return phoneDigits(t) ? { phone: t } : { name: t };
}

/** The clinic-local day of an instant: "2 Sept 2026". */
function dayOf(iso) {
  return new Intl.DateTimeFormat("en-IN", { timeZone: timeZone(), day: "numeric", month: "short", year: "numeric" })
    .format(new Date(iso));
}

function noShowRate(p) {
  const seen = p.total_visits + p.total_no_shows;
  return seen ? p.total_no_shows / seen : null;
}

/** The searched part of a name, marked. */
function markName(name, term) {
  const at = term ? name.toLowerCase().indexOf(term.toLowerCase()) : -1;
  if (at < 0) return name;
  const end = at + term.length;
  return html`${name.slice(0, at)}<mark>${name.slice(at, end)}</mark>${name.slice(end)}`;
}

/** The searched digits of a phone, marked in its spaced display form. */
function markPhone(e164, digits) {
  const shown = showPhone(e164);
  if (!digits) return shown;
  const where = [...shown].flatMap((ch, i) => (/\d/.test(ch) ? [i] : []));
  // One or two digits match the start of the national number, after +91.
  const skip = digits.length < 3 && shown.startsWith("+91 ") ? 2 : 0;
  const at = where.map((i) => shown[i]).join("").indexOf(digits, skip);
  if (at < 0) return shown;
  const from = where[at];
  const to = where[at + digits.length - 1] + 1;
  return html`${shown.slice(0, from)}<mark>${shown.slice(from, to)}</mark>${shown.slice(to)}`;
}

function PatientTags({ p }) {
  return html`${!p.is_active && html` <span class="tag inactive">Inactive</span>`}${p.simulated && html` <span class="tag">Simulator</span>`}`;
}

// ---- the list ------------------------------------------------------------------------------

function PatientList({ route, onNew }) {
  const { clinic } = useApp();
  const routeQ = (route.query.get("q") || "").trim();
  const page = Math.max(1, Math.floor(Number(route.query.get("page"))) || 1);
  const [text, setText] = useState(routeQ);
  const [term, setTerm] = useState(routeQ);
  const [sel, setSel] = useState(0);
  const input = useRef(null);
  const enterWaiting = useRef(false); // Enter pressed before the results of the typed text came

  useEffect(() => { input.current.focus(); }, []);
  useEffect(() => { lastList = location.hash || "#/patients"; });
  useEffect(() => { // a search from the top bar while this list is shown
    if (routeQ === term) return;
    setText(routeQ);
    setTerm(routeQ);
    input.current.focus();
  }, [routeQ]);
  useEffect(() => {
    const t = setTimeout(() => setTerm(text.trim()), 60);
    return () => clearTimeout(t);
  }, [text]);
  useEffect(() => { if (term !== routeQ) setQuery({ q: term || null, page: null }); }, [term]);

  const { data, error, loading, reload } = useData(async (signal) => {
    const rows = await api.get("/patients", {
      clinic_id: clinic.id, q: term, limit: PAGE + 1, offset: (page - 1) * PAGE,
    }, { signal });
    return { term, page, rows: rows.slice(0, PAGE), more: rows.length > PAGE };
  }, [clinic.id, term, page]);
  const rows = data ? data.rows : [];
  const fresh = Boolean(data) && data.term === text.trim();

  useEffect(() => { setSel(0); }, [data && data.term, data && data.page]);
  useEffect(() => { if (sel >= rows.length && rows.length) setSel(rows.length - 1); }, [rows.length]);
  useEffect(() => {
    if (!enterWaiting.current || !fresh) return;
    enterWaiting.current = false;
    enter();
  }, [data]);

  const open = (p) => p && navigate(`#/patients/${p.id}`);
  function enter() {
    if (rows.length) open(rows[Math.min(sel, rows.length - 1)]);
    else if (text.trim()) onNew(prefill(text));
  }
  function move(delta) {
    if (!rows.length) return;
    const next = Math.max(0, Math.min(rows.length - 1, sel + delta));
    setSel(next);
    const el = document.getElementById(`patient-row-${next}`);
    if (el) el.scrollIntoView({ block: "nearest" });
  }
  const goPage = (n) => { if (n >= 1) setQuery({ page: n > 1 ? n : null }); };
  const notOnControl = (e) => !(e.target.closest && e.target.closest("button, a"));

  useShortcuts("Patients", {
    n: { label: "New patient", run: () => onNew(prefill(text)) },
    "/": { label: "Search patients", run: () => { input.current.focus(); input.current.select(); } },
    ArrowDown: { label: "Select the next patient", run: () => move(1) },
    ArrowUp: { label: "Select the previous patient", run: () => move(-1) },
    Enter: { label: "Open the selected patient", run: (e) => (notOnControl(e) ? enter() : false) },
    PageDown: { label: "Next page", run: () => data && data.more && goPage(page + 1) },
    PageUp: { label: "Previous page", run: () => goPage(page - 1) },
    Escape: { label: "Clear the search", run: () => { if (!text) return false; setText(""); setTerm(""); return true; } },
  }, [rows, sel, text, data, page]);

  function onKey(e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
    else if (e.key === "Enter") { e.preventDefault(); if (fresh) enter(); else enterWaiting.current = true; }
    else if (e.key === "Escape") e.target.blur();
    else if (e.key === "PageDown" && data && data.more) { e.preventDefault(); goPage(page + 1); }
    else if (e.key === "PageUp" && page > 1) { e.preventDefault(); goPage(page - 1); }
  }

  const shownTerm = data ? data.term : term;
  const digits = phoneDigits(shownTerm);
  const first = (page - 1) * PAGE + 1;
  return html`<div class="page patients">
    <div class="page-head">
      <h1>Patients</h1>
      <div class="patient-search" role="search">
        <span class="icon" aria-hidden="true">⌕</span>
        <input ref=${input} type="search" aria-label="Find a patient" placeholder="Name or any part of the phone number"
          value=${text} onInput=${(e) => setText(e.target.value)} onKeyDown=${onKey} maxlength="100" autocomplete="off" />
        ${loading && data && html`<span class="searching muted" role="status">Searching…</span>`}
      </div>
      <span class="spacer"></span>
      <button class="primary" onClick=${() => onNew(prefill(text))} title="New patient (n)">+ New patient <kbd>n</kbd></button>
    </div>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} what="Loading patients…" />`}
    ${data && html`<section class="panel" aria-label="Patients found">
      ${rows.length === 0 ? html`<${ListEmpty} data=${data} onNew=${() => onNew(prefill(data.term))} />`
        : html`<table class="grid patient-list" aria-label=${data.term ? `Patients matching ${data.term}` : "Patients by name"}>
          <thead><tr>
            <th>Name</th><th>Phone</th><th class="n">Visits</th><th class="n">Cancelled</th><th class="n">No-shows</th>
            <th class="n">No-show rate</th><th>Last visit</th><th>First visit</th><th>WhatsApp name</th>
          </tr></thead>
          <tbody>
            ${rows.map((p, i) => {
              const rate = noShowRate(p);
              return html`<tr key=${p.id} id=${`patient-row-${i}`} aria-selected=${i === sel}
                class=${[i === sel && "selected", !p.is_active && "inactive"].filter(Boolean).join(" ")}
                onClick=${() => { setSel(i); open(p); }}>
                <td><a href=${`#/patients/${p.id}`} onClick=${(e) => e.stopPropagation()}>${digits ? p.name : markName(p.name, data.term)}</a><${PatientTags} p=${p} /></td>
                <td class="num nowrap">${markPhone(p.phone, digits)}</td>
                <td class="n num">${p.total_visits}</td>
                <td class="n num">${p.total_cancellations}</td>
                <td class="n num">${p.total_no_shows}</td>
                <td class=${`n num${rate !== null && rate >= 0.25 && p.total_no_shows >= 2 ? " high" : ""}`}>${percent(rate)}</td>
                <td class="nowrap">${shortDate(p.last_visit_date) || html`<span class="faint">—</span>`}</td>
                <td class="nowrap">${shortDate(p.first_visit_date) || html`<span class="faint">—</span>`}</td>
                <td class="muted">${p.whatsapp_name || ""}</td>
              </tr>`;
            })}
          </tbody>
        </table>`}
      ${(page > 1 || data.more) && html`<div class="pager">
        <span class="muted">${rows.length ? `${first}–${first + rows.length - 1}` : ""}${data.term ? ` matching “${data.term}”` : " by name"}</span>
        <button class="small" disabled=${page <= 1} onClick=${() => goPage(page - 1)} title="Previous page (PgUp)">‹ Previous</button>
        <button class="small" disabled=${!data.more} onClick=${() => goPage(page + 1)} title="Next page (PgDn)">Next ›</button>
      </div>`}
    </section>`}
    ${data && rows.length > 0 && html`<p class="muted hint-line"><kbd>↑</kbd><kbd>↓</kbd> select · <kbd>Enter</kbd> open ·
      <kbd>Esc</kbd> leaves the search box · <kbd>n</kbd> new patient${data.more || page > 1 ? html` · <kbd>PgUp</kbd><kbd>PgDn</kbd> pages` : ""}</p>`}
  </div>`;
}

function ListEmpty({ data, onNew }) {
  if (data.page > 1) {
    return html`<${Empty} title="Nothing on this page">
      <a href=${data.term ? `#/patients?q=${encodeURIComponent(data.term)}` : "#/patients"}>Back to the first page</a><//>`;
  }
  if (!data.term) {
    return html`<${Empty} title="No patients yet">Add one with <kbd>n</kbd>, or they appear by themselves when they message the clinic on WhatsApp.
      <p style="margin-top:10px"><button onClick=${onNew}>+ New patient</button></p><//>`;
  }
  return html`<${Empty} title=${`No patient matches “${data.term}”`}>Check the spelling or try fewer digits — or add them with <kbd>n</kbd> (<kbd>Enter</kbd> in the search box).
    <p style="margin-top:10px"><button onClick=${onNew}>+ Add “${data.term}” as a new patient</button></p><//>`;
}

// ---- the form: new patient and edit ----------------------------------------------------------

/** A patient form; on 409 it finds the patient who has that phone and links to them. */
function PatientForm({ title, start, full, save, onClose, selfId }) {
  const { clinic } = useApp();
  const [v, setV] = useState({ name: "", phone: "", whatsapp_name: "", is_active: true, ...start });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => {
    const value = e.target.type === "checkbox" ? e.target.checked : e.target.value;
    setV((x) => ({ ...x, [k]: value }));
    setErrors((x) => ({ ...x, [k]: null, form: null }));
  };

  async function conflict(err) {
    let other = null;
    try {
      other = await api.get(`/patients/by-phone/${encodeURIComponent(v.phone.trim())}`, { clinic_id: clinic.id });
    } catch { /* the message alone still says what is wrong */ }
    const link = other && other.id !== selfId && html` <a href=${`#/patients/${other.id}`} onClick=${onClose}>Open ${other.name}’s profile</a>`;
    setErrors({ phone: html`${err.message.replace(/\+\d{8,15}/, (n) => showPhone(n))}${link}` });
  }

  async function submit(e) {
    e && e.preventDefault();
    if (busy) return;
    const missing = {};
    if (!v.name.trim()) missing.name = "Type the patient's name.";
    if (!v.phone.trim()) missing.phone = "Type a phone number: a 10-digit mobile, or with its country code.";
    if (Object.keys(missing).length) { setErrors(missing); return; }
    setBusy(true);
    try {
      await save(v);
      onClose();
    } catch (err) {
      if (err.status === 409 && err.field === "phone") await conflict(err);
      else if (["name", "phone", "whatsapp_name"].includes(err.field)) setErrors({ [err.field]: err.message.replace(/^[a-z_ ]+: /, "") });
      else setErrors({ form: err.message });
    } finally {
      setBusy(false);
    }
  }

  const invalid = (k) => (errors[k] ? "true" : undefined);
  return html`<${Dialog} title=${title} onClose=${onClose}
    footer=${html`<button onClick=${onClose}>Cancel</button>
      <button class="primary" onClick=${submit} disabled=${busy}>${busy ? "Saving…" : "Save"}</button>`}>
    <form class="patient-form" onSubmit=${submit} novalidate>
      <${Field} label="Name" error=${errors.name}>
        <input aria-label="Name" value=${v.name} maxlength="120" autofocus aria-invalid=${invalid("name")} onInput=${set("name")} /><//>
      <${Field} label="Phone" error=${errors.phone} hint=${clinic.country === "IN" ? "A 10-digit mobile (+91 is added), or any number with its country code." : "A local number, or any number with its country code."}>
        <input aria-label="Phone" value=${v.phone} inputmode="tel" maxlength="32" aria-invalid=${invalid("phone")} onInput=${set("phone")} /><//>
      ${full && html`<${Field} label="WhatsApp name" error=${errors.whatsapp_name} hint="The name on their WhatsApp profile; empty if unknown.">
          <input aria-label="WhatsApp name" value=${v.whatsapp_name} maxlength="120" aria-invalid=${invalid("whatsapp_name")} onInput=${set("whatsapp_name")} /><//>
        <div class="field"><label class="check"><input type="checkbox" checked=${v.is_active} onChange=${set("is_active")} /> Active patient</label>
          <span class="hint">An inactive record keeps its history but leaves the clinic's patient counts.</span></div>`}
      ${errors.form && html`<div class="notice bad" role="alert" style="margin-top:12px">${errors.form}</div>`}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

function NewPatient({ start, onClose }) {
  const { clinic } = useApp();
  const save = async (v) => {
    const made = await api.post("/patients", { clinic_id: clinic.id, name: v.name.trim(), phone: v.phone.trim() });
    toast(`Added ${made.name} · ${showPhone(made.phone)}`);
    navigate(`#/patients/${made.id}`);
  };
  return html`<${PatientForm} title="New patient" start=${start} save=${save} onClose=${onClose} />`;
}

function EditPatient({ patient, onClose, onDone }) {
  const start = {
    name: patient.name, phone: showPhone(patient.phone), whatsapp_name: patient.whatsapp_name || "", is_active: patient.is_active,
  };
  const save = async (v) => {
    const body = {};
    if (v.name.trim() !== patient.name) body.name = v.name.trim();
    if (v.phone.trim() !== start.phone) body.phone = v.phone.trim();
    if (v.whatsapp_name.trim() !== start.whatsapp_name) body.whatsapp_name = v.whatsapp_name.trim() || null;
    if (v.is_active !== patient.is_active) body.is_active = v.is_active;
    if (!Object.keys(body).length) return;
    const saved = await api.patch(`/patients/${patient.id}`, body);
    toast(`Saved ${saved.name}`);
    onDone(saved);
  };
  return html`<${PatientForm} title=${`Edit ${patient.name}`} start=${start} full save=${save} onClose=${onClose} selfId=${patient.id} />`;
}

// ---- erasing a patient on request (UI.md: destructive actions ask, in plain words) ----------------

function ErasePatient({ patient, onClose }) {
  const { data: visits } = useData((signal) => api.get(`/patients/${patient.id}/appointments`, { limit: 500 }, { signal }), [patient.id], { live: false });
  const [cancel, setCancel] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const now = Date.now();
  const upcoming = (visits || []).filter((a) => a.status === "confirmed" && new Date(a.ends_at).getTime() > now);
  const erase = async () => {
    setBusy(true);
    setError(null);
    try {
      const done = await api.post(`/patients/${patient.id}/erase`, { cancel_upcoming: cancel });
      navigate(lastList.startsWith(`#/patients/${patient.id}`) ? "#/patients" : lastList);
      onClose();
      toast(`Patient erased. ${done.appointments_kept} appointments kept without a name; ${done.messages_removed} messages removed.`);
    } catch (e) {
      setError(e.message);
      setBusy(false);
    }
  };
  const blocked = upcoming.length > 0 && !cancel;
  return html`<${Dialog} title=${`Erase ${patient.name}?`} label="Erase patient" onClose=${onClose}
    footer=${html`<button onClick=${onClose}>Keep the patient</button>
      <button class="danger" disabled=${busy || !visits || blocked} onClick=${erase}>${busy ? "Erasing…" : "Erase for good"}</button>`}>
    <div class="erase-text">
      <p>Do this when the patient asks the clinic to forget them. It cannot be undone.</p>
      <p><strong>What goes:</strong> their name, phone number and WhatsApp name; every WhatsApp message to and from them and
        the conversation; reminders and anything waiting to be sent to them.</p>
      <p><strong>What stays, with no name:</strong> their ${visits ? visits.length : "…"} appointments, so the clinic's counts,
        analytics and no-show rates stay as they are. The patient no longer counts among the clinic's patients.</p>
      <p class="muted">Backups made before today still hold them until they age out (a year at most).
        If this number writes on WhatsApp again, it starts as a new patient.</p>
      ${upcoming.length > 0 && html`<label class="check erase-cancel"><input type="checkbox" checked=${cancel} onChange=${(e) => setCancel(e.target.checked)} />
        Also cancel their ${upcoming.length === 1 ? "upcoming appointment" : `${upcoming.length} upcoming appointments`}${" "}
        (${dateTime(upcoming[upcoming.length - 1].starts_at)}${upcoming.length > 1 ? "…" : ""})</label>`}
      ${error && html`<div class="notice bad" role="alert">${error}</div>`}
    </div>
  <//>`;
}

// ---- the profile --------------------------------------------------------------------------------

// Coming up: not over yet, and not already settled (a visit finished early is history).
const SETTLED = new Set(["completed", "no_show"]);
const isUpcoming = (a, now) => !SETTLED.has(a.status) && new Date(a.ends_at).getTime() > now;

function Visit({ a, up = false, onMove, onCancel }) {
  const when = `${weekdayName(a.date)} ${shortDate(a.date)} · ${time(a.starts_at)}`;
  return html`<tr class=${[up && "upcoming", a.status === "cancelled" && "is-cancelled"].filter(Boolean).join(" ")}>
    <td class="nowrap num">${when}</td>
    <td><span class="nowrap">${a.doctor}</span><div class="muted small-line">${a.service}</div></td>
    <td><${SourceTag} source=${a.source} /></td>
    <td><${StatusLabel} status=${a.status} /></td>
    <td class="actions">${up && a.status === "confirmed" && html`
      <button class="small" onClick=${() => onMove(a)} aria-label=${`Move the appointment of ${when}`}>Move</button>
      <button class="small danger" onClick=${() => onCancel(a)} aria-label=${`Cancel the appointment of ${when}`}>Cancel</button>`}</td>
  </tr>`;
}

function Counters({ p }) {
  const cards = [
    ["Visits", p.total_visits, ""],
    ["Cancellations", p.total_cancellations, ""],
    ["No-shows", p.total_no_shows, ""],
    ["No-show rate", percent(noShowRate(p)), p.total_visits + p.total_no_shows ? `missed ${p.total_no_shows} of ${p.total_visits + p.total_no_shows}` : ""],
    ["First visit", shortDate(p.first_visit_date) || "—", ""],
    ["Last visit", shortDate(p.last_visit_date) || "—", ""],
  ];
  return html`<div class="cards patient-counts" aria-label="Counters">
    ${cards.map(([label, value, sub]) => html`<div class="card" role="group" aria-label=${label}>
      <div class="label">${label}</div><div class="value">${value}</div>${sub && html`<div class="sub">${sub}</div>`}</div>`)}
  </div>`;
}

function History({ patient, onMove }) {
  const [limit, setLimit] = useState(HISTORY_PAGE);
  const { data, error, reload } = useData(
    (signal) => api.get(`/patients/${patient.id}/appointments`, { limit }, { signal }),
    [patient.id, limit],
  );
  const now = Date.now();
  async function cancel(a) {
    try {
      await api.patch(`/appointments/${a.id}`, { status: "cancelled" });
      toast(`Cancelled ${longDate(a.date)}, ${time(a.starts_at)} with ${a.doctor}`, {
        undo: async () => {
          try { await api.patch(`/appointments/${a.id}`, { status: a.status }); toast("Undone: the appointment stands again"); }
          catch (e) { toast(`Could not undo: ${e.message}`, { bad: true }); }
          finally { reload(); }
        },
      });
    } catch (e) {
      toast(`Could not cancel: ${e.message}`, { bad: true });
    } finally {
      reload();
    }
  }
  const rows = data || [];
  const upcoming = rows.filter((a) => isUpcoming(a, now));
  const past = rows.filter((a) => !isUpcoming(a, now));
  const coming = upcoming.filter((a) => a.status !== "cancelled").length;
  return html`<section class="panel history" aria-label="History">
    <div class="panel-head"><h2>History</h2>
      <span class="muted">${data ? `${rows.length}${rows.length >= limit ? "+" : ""} ${rows.length === 1 ? "appointment" : "appointments"}${coming ? ` · ${coming} coming up` : ""}` : ""}</span></div>
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${!data && !error && html`<${Loading} />`}
    ${data && rows.length === 0 && html`<${Empty} title="No appointments yet">Book one with <kbd>b</kbd>.<//>`}
    ${rows.length > 0 && html`<table class="grid" aria-label="Appointments, newest first">
      <thead><tr><th>When</th><th>Doctor · service</th><th>Booked by</th><th>Status</th><th class="actions"><span class="sr-only">Actions</span></th></tr></thead>
      ${upcoming.length > 0 && html`<tbody aria-label="Coming up">
        <tr class="section"><th colspan="5" scope="colgroup">Coming up</th></tr>
        ${upcoming.map((a) => html`<${Visit} key=${a.id} a=${a} up onMove=${onMove} onCancel=${cancel} />`)}</tbody>`}
      ${past.length > 0 && html`<tbody aria-label="Past">
        ${upcoming.length > 0 && html`<tr class="section"><th colspan="5" scope="colgroup">Past</th></tr>`}
        ${past.map((a) => html`<${Visit} key=${a.id} a=${a} />`)}</tbody>`}
    </table>`}
    ${rows.length >= limit && limit < 500 && html`<div class="pager"><button class="small" onClick=${() => setLimit(limit + HISTORY_PAGE)}>Show older appointments</button></div>`}
  </section>`;
}

const DELIVERY = { queued: "Queued", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed" };
const AUTHOR = { bot: "Bot", staff: "Staff", reminder: "Reminder" };

function Thread({ patient }) {
  const box = useRef(null);
  const { data, error, reload } = useData(async (signal) => {
    try {
      return await api.get(`/conversations/${patient.id}`, { limit: 100 }, { signal });
    } catch (e) {
      if (e.status === 404) return null; // no conversation: they have never written
      throw e;
    }
  }, [patient.id]);
  useEffect(() => { if (box.current) box.current.scrollTop = box.current.scrollHeight; }, [data]);
  return html`<section class="panel thread" aria-label="WhatsApp messages">
    <div class="panel-head"><h2>WhatsApp</h2>
      ${data && html`<a class="thread-link" href=${`#/inbox/${patient.id}`}>Open in Inbox →</a>`}</div>
    ${data && data.conversation.bot_paused && html`<div class="paused-line">Staff have taken over: the bot stays quiet until handed back.</div>`}
    ${error && html`<${ErrorBox} error=${error} retry=${reload} />`}
    ${data === undefined && !error && html`<${Loading} />`}
    ${data === null && html`<${Empty} title="No WhatsApp messages yet">What ${patient.name} writes to the clinic's WhatsApp number, and the answers, appear here.<//>`}
    ${data && html`<div class="bubbles" ref=${box} role="log" aria-label=${`Messages with ${patient.name}`}>
      ${data.messages.length === 0 && html`<p class="muted">No messages kept.</p>`}
      ${data.messages.map((m) => html`<div key=${`${m.direction}${m.id}`} class=${`bubble ${m.direction}${m.status === "failed" ? " failed" : ""}`}>
        <div class="text">${m.text}</div>
        <div class="meta">${m.direction === "out" ? `${AUTHOR[m.author] || m.author || ""} · ` : ""}${dateTime(m.at)}${m.status ? ` · ${DELIVERY[m.status] || m.status}` : ""}</div>
        ${m.error && html`<div class="meta why">${m.error}</div>`}
      </div>`)}
    </div>`}
  </section>`;
}

function Details({ p, onEdit, onErase }) {
  return html`<section class="panel details" aria-label="Details">
    <div class="panel-head"><h2>Details</h2><button class="small ghost" style="margin-left:auto" onClick=${onEdit} title="Edit (e)">Edit</button></div>
    <dl class="patient-facts">
      <dt>Phone</dt><dd class="num">${showPhone(p.phone)}</dd>
      <dt>WhatsApp name</dt><dd>${p.whatsapp_name || html`<span class="faint">—</span>`}</dd>
      <dt>Record</dt><dd>${p.is_active ? "Active" : html`<span class="tag inactive">Inactive</span>`}</dd>
      <dt>Patient since</dt><dd>${dayOf(p.created_at)}</dd>
    </dl>
    <div class="erase-row"><button class="small danger" onClick=${onErase}>Erase patient…</button></div>
  </section>`;
}

function Profile({ id }) {
  const [dialog, setDialog] = useState(null); // { kind: "edit" | "book" | "move", appointment }
  const { data: p, error, reload } = useData((signal) => api.get(`/patients/${id}`, null, { signal }), [id]);
  const [historyKey, setHistoryKey] = useState(0);
  const close = () => setDialog(null);
  async function move(a) {
    try {
      setDialog({ kind: "move", appointment: await api.get(`/appointments/${a.id}`) });
    } catch (e) {
      toast(`Could not open that appointment: ${e.message}`, { bad: true });
    }
  }
  useShortcuts("Patients", {
    e: { label: "Edit the patient", run: () => p && setDialog({ kind: "edit" }) },
    b: { label: "Book an appointment for the patient", run: () => p && setDialog({ kind: "book" }) },
    Escape: { label: "Back to the list", run: () => navigate(lastList) },
  }, [p]);

  if (error && !p) {
    return html`<div class="page"><p><a href=${lastList}>‹ Patients</a></p><${ErrorBox} error=${error} retry=${reload} /></div>`;
  }
  if (!p) return html`<${Loading} what="Opening the patient…" />`;
  const booked = () => { setHistoryKey((k) => k + 1); reload(); };
  return html`<div class="page patients profile">
    <div class="page-head">
      <a class="back" href=${lastList} title="Back to the list (Esc)">‹ Patients</a>
      <h1>${p.name}</h1><${PatientTags} p=${p} />
      <span class="muted num">${showPhone(p.phone)}</span>
      <span class="spacer"></span>
      <button onClick=${() => setDialog({ kind: "edit" })} title="Edit (e)">Edit <kbd>e</kbd></button>
      <button class="primary" onClick=${() => setDialog({ kind: "book" })} title="Book (b)">+ Book <kbd>b</kbd></button>
    </div>
    <${Counters} p=${p} />
    <div class="profile-grid">
      <${History} key=${historyKey} patient=${p} onMove=${move} />
      <div class="side">
        <${Details} p=${p} onEdit=${() => setDialog({ kind: "edit" })} onErase=${() => setDialog({ kind: "erase" })} />
        <${Thread} patient=${p} />
      </div>
    </div>
    ${dialog && dialog.kind === "edit" && html`<${EditPatient} patient=${p} onClose=${close} onDone=${reload} />`}
    ${dialog && dialog.kind === "erase" && html`<${ErasePatient} patient=${p} onClose=${close} />`}
    ${dialog && dialog.kind === "book" && html`<${BookingDialog} initial=${{ patient: p }} onClose=${close} onDone=${booked} />`}
    ${dialog && dialog.kind === "move" && html`<${BookingDialog} appointment=${dialog.appointment} onClose=${close} onDone=${booked} />`}
  </div>`;
}

// ---- the screen ----------------------------------------------------------------------------------

export default function Screen({ route }) {
  const [creating, setCreating] = useState(null); // the new-patient form's first values
  const id = route.parts[0];
  return html`${id ? html`<${Profile} key=${id} id=${id} />` : html`<${PatientList} route=${route} onNew=${setCreating} />`}
    ${creating && html`<${NewPatient} start=${creating} onClose=${() => setCreating(null)} />`}`;
}
