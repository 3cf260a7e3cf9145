// Try the bot: what a patient sees if they message the clinic. A WhatsApp-like phone on
// the built-in simulator: the same bot, the same buttons and lists (drawn as WhatsApp draws
// them), and nothing sent to WhatsApp. Bookings made here are real appointments, marked
// simulated and left out of the statistics; "Start over" clears them.
import { html, useState, useEffect, useRef, useLayoutEffect } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useApp, useData, useShortcuts, ErrorBox, Loading, StatusLabel, toast } from "../lib/ui.js";
import { time, longDate, todayIso, addDays } from "../lib/format.js";

const PATIENT = "demo"; // the simulated patient this window chats as (SIM.demo)
// The server orders a chat by the second: within one second it lists the patient's messages
// in no particular order, then the bot's. This window remembers what it sent and which bot
// message was the newest then, to show a quick exchange in the order it happened.
// (Kept for the session, so a reload keeps the order too.)
const SENT_KEY = "clinicbot.trybot.sent";
const sent = new Map(JSON.parse(sessionStorage.getItem(SENT_KEY) || "[]")); // id -> { seq, after }
function remember(id, after) {
  sent.set(id, { seq: Math.max(-1, ...[...sent.values()].map((v) => v.seq)) + 1, after });
  sessionStorage.setItem(SENT_KEY, JSON.stringify([...sent].slice(-300)));
}
function forget() {
  sent.clear();
  sessionStorage.removeItem(SENT_KEY);
}
const PATIENT_NAME = "Test patient";
const TRY = [
  "Hi",
  "Book with Dr Mehta tomorrow evening",
  "kal 5 baje",
  "नमस्ते",
  "My appointments",
  "Cancel my appointment",
  "What are your timings?",
  "Talk to staff",
];

function dayLabel(day) {
  const today = todayIso();
  if (day === today) return "Today";
  if (day === addDays(today, -1)) return "Yesterday";
  return longDate(day);
}

export default function TryBot() {
  const { clinic } = useApp();
  const [sheet, setSheet] = useState(null); // the list a bot message opened
  const [sending, setSending] = useState(false);
  const input = useRef(null);
  const chat = useData(
    (signal) => api.get("/simulator/messages", { clinic_id: clinic.id, patient: PATIENT, limit: 200 }, { signal }),
    [clinic.id],
  );
  const entries = ordered(chat.data || []);
  const patient = useSimulatedPatient(clinic.id, entries.length);

  async function send(message) {
    setSending(true);
    try {
      const posted = await api.post("/simulator/messages", {
        clinic_id: clinic.id, patient: PATIENT, name: PATIENT_NAME, ...message,
      });
      const after = Math.max(0, ...entries.filter((m) => m.direction === "out").map((m) => Number(m.id)));
      remember(posted.id, after);
      chat.reload();
    } catch (e) {
      toast(`Could not send: ${e.message}`, { bad: true });
    } finally {
      setSending(false);
    }
  }
  const tap = (choice) => { setSheet(null); send({ text: choice.title, choice_id: choice.id }); };

  async function startOver() {
    patient.hold();
    try {
      const r = await api.del("/simulator", { params: { clinic_id: clinic.id } });
      setSheet(null);
      forget();
      chat.reload();
      toast(r && r.patients_removed ? "Started over: the simulated chat and its bookings are gone." : "Started over.");
    } catch (e) {
      toast(`Could not start over: ${e.message}`, { bad: true });
    } finally {
      patient.release();
    }
  }

  useShortcuts("Try the bot", {
    r: { label: "Type a message as the patient", run: () => input.current && input.current.focus() },
  });

  return html`<div class="page trybot">
    <div class="trybot-layout">
      <${Phone} clinic=${clinic} chat=${chat} entries=${entries} send=${send} tap=${tap} sending=${sending}
        openList=${setSheet} sheet=${sheet} closeList=${() => setSheet(null)} input=${input} />
      <aside class="trybot-side">
        <div class="page-head"><h1>Try the bot</h1></div>
        <p>This is what a patient sees when they message ${clinic.name} on WhatsApp: the same bot, with the
          same buttons and lists. Tap them, or type as a patient would, in English, Hindi or Hinglish.
          Nothing here goes to WhatsApp.</p>
        <p class="notice">Bookings made here are real appointments marked <strong>simulated</strong>:
          they hold the slot and show on Today, but are left out of the statistics.</p>
        <div class="side-block">
          <h2>Things to try</h2>
          <div class="try-chips">
            ${TRY.map((t) => html`<button class="small" disabled=${sending} onClick=${() => send({ text: t })}
              lang=${/[\u0900-\u097F]/.test(t) ? "hi" : undefined}>${t}</button>`)}
          </div>
        </div>
        <${Handed} patient=${patient.data} />
        <${Bookings} state=${patient} />
        <div class="side-block">
          <button class="danger" onClick=${startOver}>Start over</button>
          <span class="muted small-note">Clears this chat and every simulated booking.</span>
        </div>
      </aside>
    </div>
  </div>`;
}

/** The chat in the order it happened (see ``sent``). */
function ordered(entries) {
  const key = (m, i) => {
    if (m.direction === "out") return [Number(m.id), 0];
    const known = sent.get(m.id);
    return known ? [known.after + 0.5, known.seq] : [-1, i];
  };
  const out = [];
  for (let i = 0, j = 0; i < entries.length; i = j) {
    while (j < entries.length && entries[j].at === entries[i].at) j += 1;
    const second = entries.slice(i, j).map((m, k) => [key(m, k), m]);
    second.sort(([a], [b]) => a[0] - b[0] || a[1] - b[1]);
    out.push(...second.map(([, m]) => m));
  }
  return out;
}

/** The simulated patient (made by the first message) and their bookings. ``hold()`` stops
 * loading (and drops a load under way) while "Start over" deletes that patient. */
function useSimulatedPatient(clinicId, count) {
  const { version } = useApp();
  const [state, setState] = useState({ data: undefined, error: null });
  const [nonce, setNonce] = useState(0);
  const held = useRef(false);
  const loading = useRef(null);
  useEffect(() => {
    if (held.current) return undefined;
    const ctl = new AbortController();
    loading.current = ctl;
    (async () => {
      const conversations = await api.get("/conversations", { clinic_id: clinicId, limit: 200 }, { signal: ctl.signal });
      const mine = conversations.find((c) => c.simulated && c.phone === `SIM.${PATIENT}`);
      if (!mine || ctl.signal.aborted) return null;
      const appointments = await api.get(`/patients/${mine.patient_id}/appointments`, {}, { signal: ctl.signal });
      return { conversation: mine, appointments };
    })().then(
      (data) => { if (!ctl.signal.aborted) setState({ data, error: null }); },
      (error) => { if (!ctl.signal.aborted) setState((x) => ({ ...x, error })); },
    );
    return () => ctl.abort();
  }, [clinicId, count, version, nonce]);
  return {
    ...state,
    reload: () => setNonce((n) => n + 1),
    hold: () => { held.current = true; if (loading.current) loading.current.abort(); },
    release: () => { held.current = false; setNonce((n) => n + 1); },
  };
}

function Handed({ patient }) {
  if (!patient || !patient.conversation.bot_paused) return null;
  return html`<div class="notice warn" role="status">The bot has handed this chat to staff and stays quiet
    until they hand it back. <a href=${`#/inbox/${patient.conversation.patient_id}?sim=1`}>Answer it in the Inbox</a></div>`;
}

function Bookings({ state }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} retry=${state.reload} />`;
  const list = state.data ? state.data.appointments : [];
  return html`<div class="side-block">
    <h2>Bookings made here</h2>
    ${list.length === 0
      ? html`<p class="muted">None yet. Say “Hi” and take the first option each time: a booking takes a few taps.</p>`
      : html`<ul class="sim-bookings">${list.map((a) => html`<li key=${a.id}>
          <span><strong>${longDate(a.date)}, ${time(a.starts_at)}</strong><br />
            <span class="muted">${a.doctor} · ${a.service}</span></span>
          <${StatusLabel} status=${a.status} />
          <a class="btn small" href=${`#/today?date=${a.date}`}>Open on Today</a>
        </li>`)}</ul>`}
  </div>`;
}

// ---- the phone ------------------------------------------------------------------------------

function Phone({ clinic, chat, entries, send, tap, sending, openList, sheet, closeList, input }) {
  const [text, setText] = useState("");
  const scroller = useRef(null);
  const thinking = sending || entries.some((m) => m.direction === "in" && !m.status);
  useLayoutEffect(() => {
    if (scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
  }, [entries.length, thinking]);

  const submit = (e) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText("");
    send({ text: t });
  };
  const rows = [];
  entries.forEach((m, i) => {
    const d = todayIso(new Date(m.at));
    if (i === 0 || d !== todayIso(new Date(entries[i - 1].at))) {
      rows.push(html`<li class="wa-day" key=${`day${d}`} aria-hidden="true"><span>${dayLabel(d)}</span></li>`);
    }
    rows.push(html`<${Entry} key=${`${m.direction}${m.id}`} m=${m} tap=${tap} openList=${openList} />`);
  });
  return html`<div class="wa-phone">
    <div class="wa-top">
      <span class="wa-avatar" aria-hidden="true">+</span>
      <div><div class="wa-name">${clinic.name}</div><div class="wa-sub">business account · simulator</div></div>
    </div>
    <div class="wa-chat" ref=${scroller}>
      ${chat.error && html`<${ErrorBox} error=${chat.error} retry=${chat.reload} />`}
      ${!chat.data && !chat.error && html`<${Loading} />`}
      ${chat.data && entries.length === 0 && html`<div class="wa-hint">Send “Hi” to start, as a patient would.</div>`}
      <ol class="wa-log" role="log" aria-label="Chat with the bot">
        ${rows}
        ${thinking && html`<li class="wa-typing" role="status"><span class="dots" aria-hidden="true"><i></i><i></i><i></i></span><span class="sr-only">The bot is typing</span></li>`}
      </ol>
    </div>
    <form class="wa-compose" onSubmit=${submit}>
      <input ref=${input} type="text" aria-label="Message as the patient" placeholder="Message"
        value=${text} onInput=${(e) => setText(e.target.value)} />
      <button class="wa-send" type="submit" aria-label="Send" disabled=${!text.trim()}>➤</button>
    </form>
    ${sheet && html`<${ListSheet} list=${sheet} tap=${tap} onClose=${closeList} />`}
  </div>`;
}

function Entry({ m, tap, openList }) {
  if (m.direction === "in") {
    const answered = Boolean(m.status);
    return html`<li class="wa-msg me">
      <div class="wa-bubble"><span class="sr-only">You: </span><span class="wa-text">${m.text}</span>
        <span class="wa-meta">${time(m.at)} <span class=${`wa-tick${answered ? " read" : ""}`} aria-hidden="true">${answered ? "✓✓" : "✓"}</span>
        <span class="sr-only">${answered ? "Read by the bot" : "Sent"}</span></span></div>
    </li>`;
  }
  const p = m.payload || {};
  const inner = p.type === "interactive" ? p.interactive || {} : null;
  const body = inner ? (inner.body && inner.body.text) || "" : (p.text && p.text.body) || m.text;
  const header = inner && inner.header && inner.header.text;
  const buttons = inner && inner.type === "button" ? inner.action.buttons.map((b) => b.reply) : [];
  const list = inner && inner.type === "list" ? inner.action : null;
  return html`<li class="wa-msg bot">
    <div class="wa-bubble">
      <span class="sr-only">Bot: </span>
      ${header && html`<div class="wa-header">${header}</div>`}
      <span class="wa-text" lang=${/[\u0900-\u097F]/.test(body) ? "hi" : undefined}>${body}</span>
      <span class="wa-meta">${time(m.at)}</span>
      ${list && html`<button class="wa-list-button" aria-haspopup="dialog" onClick=${() => openList(list)}><span aria-hidden="true">☰</span> ${list.button}</button>`}
    </div>
    ${buttons.length > 0 && html`<div class="wa-buttons">
      ${buttons.map((b) => html`<button onClick=${() => tap(b)}><span aria-hidden="true">↩</span> ${b.title}</button>`)}
    </div>`}
  </li>`;
}

function ListSheet({ list, tap, onClose }) {
  const box = useRef(null);
  useShortcuts(list.button, { Escape: { label: "Close", run: onClose, inFields: true } }, [onClose], { modal: true });
  useEffect(() => {
    const first = box.current && box.current.querySelector(".wa-rows button");
    if (first) first.focus();
  }, []);
  return html`<div class="wa-sheet-shade" onMouseDown=${(e) => { if (e.target === e.currentTarget) onClose(); }}>
    <div class="wa-sheet" role="dialog" aria-modal="true" aria-label=${list.button} ref=${box}>
      <div class="wa-sheet-head">
        <button class="ghost icon-only" aria-label="Close" onClick=${onClose}>✕</button>
        <strong>${list.button}</strong>
      </div>
      ${list.sections.map((s) => html`<div class="wa-section">
        ${s.title && html`<div class="wa-section-title">${s.title}</div>`}
        <ul class="wa-rows">
          ${s.rows.map((r) => html`<li><button onClick=${() => tap(r)}>
            <span class="wa-row-title">${r.title}</span>
            ${r.description && html`<span class="wa-row-desc">${r.description}</span>`}
            <span class="wa-radio" aria-hidden="true"></span>
          </button></li>`)}
        </ul>
      </div>`)}
      <p class="wa-sheet-foot">Tap an item to select it</p>
    </div>
  </div>`;
}
