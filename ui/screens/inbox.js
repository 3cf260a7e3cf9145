// Inbox: who is waiting for a human answer on WhatsApp, and what failed to send.
// Left, the conversations newest first (or the failed messages); right, the thread with
// delivery ticks, take over / hand back, and the staff reply box. New messages appear by
// themselves, and the thread stays scrolled to the newest.
import { html, useState, useEffect, useRef, useLayoutEffect, useMemo } from "../lib/html.js";
import { api } from "../lib/api.js";
import { useApp, useData, useShortcuts, Empty, ErrorBox, Loading, toast } from "../lib/ui.js";
import { navigate } from "../lib/router.js";
import { todayIso, addDays, longDate, time, ago, phone as showPhone } from "../lib/format.js";

const PAGE = 100;
// Delivery of one message, as ticks for the eye and words for everyone.
const DELIVERY = {
  queued: { tick: "🕓", words: "Waiting to send" },
  sending: { tick: "🕓", words: "Sending" },
  sent: { tick: "✓", words: "Sent" },
  delivered: { tick: "✓✓", words: "Delivered" },
  read: { tick: "✓✓", words: "Read" },
  failed: { tick: "!", words: "Not delivered" },
  cancelled: { tick: "–", words: "Not sent" },
};
const AUTHORS = { bot: "Bot", staff: "Staff", reminder: "Reminder", system: "clinicbot" };
const MEDIA = {
  image: "Photo", audio: "Voice note", video: "Video", document: "Document", sticker: "Sticker",
  location: "Location", contacts: "Contact", unsupported: "Message WhatsApp could not show",
};
const LANGUAGES = { en: "English", hi: "Hindi" };
const DAY_MONTH = new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", day: "numeric", month: "short" });

function initials(name) {
  const parts = (name || "?").replace(/^\+/, "").split(/\s+/).filter(Boolean);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

function hue(text) {
  let h = 0;
  for (const ch of text || "") h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function Avatar({ name }) {
  return html`<span class="avatar" aria-hidden="true" style=${`--hue:${hue(name)}`}>${initials(name)}</span>`;
}

/** "10:42 am" today, "Yesterday", else "22 Nov". */
function when(iso) {
  const day = todayIso(new Date(iso));
  const today = todayIso();
  if (day === today) return time(iso);
  if (day === addDays(today, -1)) return "Yesterday";
  return DAY_MONTH.format(new Date(`${day}T12:00:00Z`));
}

function dayLabel(day) {
  const today = todayIso();
  if (day === today) return "Today";
  if (day === addDays(today, -1)) return "Yesterday";
  return longDate(day);
}

export default function Inbox({ route }) {
  const { clinic } = useApp();
  const selectedId = route.parts[0] || null;
  const failedTab = route.query.get("failed") === "1";
  const waitingTab = !failedTab && route.query.get("waiting") === "1";
  const withSimulated = route.query.get("sim") === "1";
  const [limit, setLimit] = useState(PAGE);
  const reply = useRef(null);

  const all = useData(
    (signal) => api.get("/conversations", { clinic_id: clinic.id, limit, offset: 0 }, { signal }),
    [clinic.id, limit],
  );
  const waiting = useData(
    (signal) => (waitingTab
      ? api.get("/conversations", { clinic_id: clinic.id, paused: true, limit: 200 }, { signal })
      : null),
    [clinic.id, waitingTab],
  );
  const failed = useData(
    (signal) => api.get("/messages/failed", { clinic_id: clinic.id, limit: 100 }, { signal }),
    [clinic.id],
  );

  const shown = (c) => withSimulated || !c.simulated;
  const conversations = ((waitingTab ? waiting.data : all.data) || []).filter(shown);
  const waitingCount = (all.data || []).filter((c) => c.bot_paused && shown(c)).length;
  const failedRows = failed.data || [];
  const names = useNames(all.data, failedRows);

  const link = (id, extra = {}) => {
    const q = new URLSearchParams();
    if (failedTab) q.set("failed", "1");
    if (waitingTab) q.set("waiting", "1");
    if (withSimulated) q.set("sim", "1");
    for (const [k, v] of Object.entries(extra)) { if (v) q.set(k, v); else q.delete(k); }
    const s = q.toString();
    return `#/inbox${id ? `/${encodeURIComponent(id)}` : ""}${s ? `?${s}` : ""}`;
  };
  const tab = (name) => link(selectedId, { failed: name === "failed" ? "1" : "", waiting: name === "waiting" ? "1" : "" });

  // ↑/↓ walk the list on the left, whichever it is.
  const order = failedTab ? [...new Set(failedRows.map((m) => m.patient_id).filter(Boolean))] : conversations.map((c) => c.patient_id);
  const move = (delta) => {
    if (!order.length) return;
    const i = order.indexOf(selectedId);
    const j = i < 0 ? (delta > 0 ? 0 : order.length - 1) : Math.max(0, Math.min(order.length - 1, i + delta));
    navigate(link(order[j]), { replace: true });
    setTimeout(() => {
      const el = document.querySelector(".inbox-list [aria-current='true']");
      if (el) el.scrollIntoView({ block: "nearest" });
    });
  };
  const thread = useRef(null); // the Thread's own actions, for the shortcuts
  useShortcuts("Inbox", {
    ArrowDown: { label: "Next conversation", run: () => move(1) },
    ArrowUp: { label: "Previous conversation", run: () => move(-1) },
    j: { label: "", run: () => move(1) },
    k: { label: "", run: () => move(-1) },
    r: { label: "Reply to this conversation", run: () => reply.current && !reply.current.disabled && reply.current.focus() },
    o: { label: "Take over, or hand back to the bot", run: () => thread.current && thread.current.toggle() },
    f: { label: "Failed messages (again: back to conversations)", run: () => navigate(tab(failedTab ? "all" : "failed"), { replace: true }) },
    Escape: {
      label: "", inFields: true,
      run: (e) => { if (e.target !== reply.current) return false; e.target.blur(); return true; },
    },
  }, [order.join(), selectedId, failedTab, waitingTab, withSimulated]);

  return html`<div class="inbox">
    <div class="page-head">
      <h1>Inbox</h1>
      <span class="muted">WhatsApp conversations, newest first</span>
      <span class="spacer"></span>
      <label class="check"><input type="checkbox" checked=${withSimulated}
        onChange=${(e) => navigate(link(selectedId, { sim: e.target.checked ? "1" : "" }), { replace: true })} />
        Show “Try the bot” chats</label>
    </div>
    <div class="inbox-panes">
      <section class="panel inbox-side" aria-label="Conversations">
        <div class="inbox-tabs" role="tablist" aria-label="Show">
          <a role="tab" href=${tab("all")} aria-selected=${!failedTab && !waitingTab}>All</a>
          <a role="tab" href=${tab("waiting")} aria-selected=${waitingTab}>Waiting for staff
            ${waitingCount > 0 && html` <span class="count">${waitingCount}</span>`}</a>
          <a role="tab" href=${tab("failed")} aria-selected=${failedTab} title="Failed messages (f)">Failed
            ${failedRows.length > 0 && html` <span class="count bad">${failedRows.length}</span>`}</a>
        </div>
        ${failedTab
          ? html`<${FailedList} state=${failed} names=${names} selectedId=${selectedId} link=${link} />`
          : html`<${ConversationList} state=${waitingTab ? waiting : all} rows=${conversations}
              selectedId=${selectedId} link=${link} waitingTab=${waitingTab}
              more=${!waitingTab && all.data && all.data.length >= limit ? () => setLimit((n) => n + PAGE) : null} />`}
      </section>
      <section class="panel inbox-thread" aria-label="Conversation">
        ${selectedId
          ? html`<${Thread} key=${selectedId} patientId=${selectedId} replyRef=${reply} actions=${thread}
              onFailedChange=${failed.reload} />`
          : html`<div class="inbox-pick">
              <${Empty} title=${failedTab ? "Pick a failed message" : "Pick a conversation"}>
                <kbd>↑</kbd> <kbd>↓</kbd> move through the list · <kbd>r</kbd> reply · <kbd>o</kbd> take over or hand back · <kbd>f</kbd> failed messages
              <//></div>`}
      </section>
    </div>
  </div>`;
}

/** Patient names for failed messages whose conversation is not among those loaded. */
function useNames(conversations, failedRows) {
  const [extra, setExtra] = useState({});
  const known = useMemo(() => {
    const m = { ...extra };
    for (const c of conversations || []) m[c.patient_id] = c.patient_name;
    return m;
  }, [conversations, extra]);
  useEffect(() => {
    const missing = [...new Set(failedRows.map((r) => r.patient_id).filter((id) => id && !(id in known)))];
    if (!missing.length) return;
    Promise.all(missing.map((id) => api.get(`/patients/${id}`).then((p) => [id, p.name], () => [id, null])))
      .then((pairs) => setExtra((x) => ({ ...x, ...Object.fromEntries(pairs) })));
  }, [failedRows, known]);
  return known;
}

function ConversationList({ state, rows, selectedId, link, waitingTab, more }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} retry=${state.reload} />`;
  if (!state.data) return html`<${Loading} what="Loading conversations…" />`;
  if (!rows.length) {
    return waitingTab
      ? html`<${Empty} title="Nobody is waiting for staff">A patient who asks for a person, or a conversation you take over, shows up here.<//>`
      : html`<${Empty} title="No WhatsApp conversations yet">When a patient writes to the clinic's number, the conversation appears here. See what they will get in <a href="#/bot">Try the bot</a>.<//>`;
  }
  return html`<nav class="inbox-list" aria-label="Conversation list"><ul>
    ${rows.map((c) => html`<li key=${c.patient_id}>
      <a href=${link(c.patient_id)} aria-current=${c.patient_id === selectedId ? "true" : undefined}
        class=${c.unread > 0 ? "unread" : ""}>
        <${Avatar} name=${c.patient_name} />
        <span class="who">
          <span class="line"><strong class="name">${c.patient_name}</strong>
            <span class="at">${when(c.last_message_at)}</span></span>
          <span class="line sub">
            <span class="phone">${c.simulated ? "Try the bot" : showPhone(c.phone)}${c.language === "hi" ? " · हिंदी" : ""}</span>
            ${c.bot_paused && html`<span class="tag staff-tag">Staff</span>`}
            ${c.simulated && html`<span class="tag">Simulated</span>`}
            ${c.unread > 0 && html`<span class="badge">${c.unread}<span class="sr-only"> unread</span></span>`}
          </span>
        </span>
      </a></li>`)}
  </ul>
  ${more && html`<div class="more"><button class="small ghost" onClick=${more}>Show older conversations</button></div>`}
  </nav>`;
}

function FailedList({ state, names, selectedId, link }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} retry=${state.reload} />`;
  if (!state.data) return html`<${Loading} what="Loading failed messages…" />`;
  if (!state.data.length) {
    return html`<${Empty} title="Nothing failed to send">A message WhatsApp refuses or cannot deliver appears here, with the reason and a way to send it again.<//>`;
  }
  return html`<nav class="inbox-list failed-list" aria-label="Failed messages"><ul>
    ${state.data.map((m) => {
      const name = names[m.patient_id] || showPhone(`+${m.recipient}`);
      return html`<li key=${m.id}>
        <a href=${m.patient_id ? link(m.patient_id) : "#/inbox?failed=1"}
          aria-current=${m.patient_id && m.patient_id === selectedId ? "true" : undefined}>
          <${Avatar} name=${name} />
          <span class="who">
            <span class="line"><strong class="name">${name}</strong><span class="at">${when(m.updated_at)}</span></span>
            <span class="reason">${m.error_reason || "WhatsApp gave no reason."}</span>
            <span class="line sub"><span class="phone">${m.preview.split("\n")[0]}</span></span>
          </span>
        </a></li>`;
    })}
  </ul></nav>`;
}

// ---- the thread -------------------------------------------------------------------------------

function Thread({ patientId, replyRef, actions, onFailedChange }) {
  const { clinic } = useApp();
  const { data, error, reload } = useData(
    (signal) => api.get(`/conversations/${encodeURIComponent(patientId)}`, { limit: 200 }, { signal }),
    [patientId],
  );
  const sender = useData((signal) => api.get("/messages/sender", { clinic_id: clinic.id }, { signal }), [clinic.id]);
  const [busy, setBusy] = useState(false);
  const scroller = useRef(null);
  const stick = useRef(true);
  const conversation = data && data.conversation;

  // Opening a conversation reads it; so does a new message arriving while it is open.
  useEffect(() => {
    if (conversation && conversation.unread > 0) api.post(`/conversations/${encodeURIComponent(patientId)}/read`).catch(() => {});
  }, [conversation && conversation.unread, data]);

  // Keep the newest message in view, unless staff scrolled up to read.
  const count = data ? data.messages.length : 0;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [count, data]);

  async function setPaused(paused) {
    setBusy(true);
    try {
      await api.post(`/conversations/${encodeURIComponent(patientId)}/${paused ? "takeover" : "handback"}`);
      toast(paused ? `You are answering ${conversation.patient_name}. The bot stays quiet.` : `The bot answers ${conversation.patient_name} again.`);
    } catch (e) {
      toast(`Could not ${paused ? "take over" : "hand back"}: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
      reload();
    }
  }
  actions.current = conversation ? { toggle: () => !busy && setPaused(!conversation.bot_paused) } : null;

  if (error) return html`<${ErrorBox} error=${error} retry=${reload} />`;
  if (!data) return html`<${Loading} what="Opening the conversation…" />`;
  const c = conversation;
  const days = groupByDay(data.messages);
  return html`
    <header class="thread-head">
      <${Avatar} name=${c.patient_name} />
      <div class="thread-who">
        <h2><a href=${`#/patients/${c.patient_id}`} title="Open the patient">${c.patient_name}</a></h2>
        <div class="muted">${c.simulated ? "Try the bot (simulated)" : showPhone(c.phone)} · ${LANGUAGES[c.language] || c.language}</div>
      </div>
      <span class=${`answering ${c.bot_paused ? "staff" : "bot"}`} role="status" aria-label="Who is answering">
        ${c.bot_paused ? "Staff are answering · bot paused" : "The bot is answering"}</span>
      <button class=${c.bot_paused ? "" : "primary"} disabled=${busy} onClick=${() => setPaused(!c.bot_paused)}
        title=${c.bot_paused ? "Hand back to the bot (o)" : "Take over from the bot (o)"}>
        ${c.bot_paused ? "Hand back to bot" : "Take over"} <kbd>o</kbd></button>
    </header>
    <div class="thread-body" ref=${scroller} tabindex="0" aria-label="Messages"
      onScroll=${(e) => { const el = e.currentTarget; stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60; }}>
      ${data.messages.length === 0 && html`<${Empty} title="No messages yet" />`}
      ${days.map(([day, messages]) => html`<div class="day" key=${day}>
        <div class="day-label"><span>${dayLabel(day)}</span></div>
        <ol class="bubbles">
          ${messages.map((m) => html`<${Bubble} key=${`${m.direction}${m.id}`} m=${m}
            onResent=${() => { reload(); onFailedChange(); }} />`)}
        </ol>
      </div>`)}
    </div>
    <${Composer} conversation=${c} windowOpen=${data.window_open} replyRef=${replyRef} sender=${sender.data}
      onSent=${() => { stick.current = true; reload(); }} />`;
}

function groupByDay(messages) {
  const days = [];
  for (const m of messages) {
    const day = todayIso(new Date(m.at));
    if (!days.length || days[days.length - 1][0] !== day) days.push([day, []]);
    days[days.length - 1][1].push(m);
  }
  return days;
}

/** A bot message with choices carries them as numbered lines after its text. */
function splitChoices(text) {
  const lines = text.split("\n");
  let i = lines.length;
  while (i > 0 && /^\d+\.\s/.test(lines[i - 1])) i -= 1;
  if (i === lines.length || i === 0) return [text, []];
  return [lines.slice(0, i).join("\n").trimEnd(), lines.slice(i).map((l) => l.replace(/^\d+\.\s/, ""))];
}

function Bubble({ m, onResent }) {
  const out = m.direction === "out";
  let text = m.text;
  let media = null;
  if (!out && MEDIA[m.type]) {
    media = MEDIA[m.type];
    text = text.replace(/^\[\w+\]\s*/, "");
  }
  const [body, choices] = out && m.type !== "text" ? splitChoices(text) : [text, []];
  const d = out ? DELIVERY[m.status] || { tick: "", words: m.status } : null;
  const problem = out && (m.status === "failed" || m.status === "cancelled");
  return html`<li class=${`bubble ${out ? "out" : "in"}${problem ? " problem" : ""}${m.author === "staff" ? " staff" : ""}`}>
    ${out && html`<span class="author">${AUTHORS[m.author] || m.author}${m.type === "template" ? " · template" : ""}</span>`}
    ${media && html`<span class="media">📎 ${media}</span>`}
    ${body && html`<div class="text" lang=${/[\u0900-\u097F]/.test(body) ? "hi" : undefined}>${body}</div>`}
    ${choices.length > 0 && html`<div class="choices"><span class="sr-only">Choices offered: </span>${choices.map((x, i) => html`<span class="choice">${x}${i < choices.length - 1 ? html`<span class="sr-only">, </span>` : ""}</span>`)}</div>`}
    <span class="meta">
      <time datetime=${m.at}>${time(m.at)}</time>
      ${!out && m.outcome === "paused" && html`<span class="for-staff">for staff</span>`}
      ${d && html`<span class=${`tick ${m.status}`} title=${d.words} aria-hidden="true">${d.tick}</span><span class="sr-only">${d.words}</span>`}
    </span>
    ${problem && html`<div class="why" role="note"><strong>${d.words}.</strong> ${m.error || "WhatsApp gave no reason."}
      ${m.status === "failed" && html`<${Resend} id=${m.id} onDone=${onResent} />`}</div>`}
  </li>`;
}

function Resend({ id, onDone }) {
  const [busy, setBusy] = useState(false);
  return html`<button class="small" disabled=${busy} onClick=${async () => {
    setBusy(true);
    try {
      await api.post(`/messages/${id}/retry`);
      toast("Queued to send again.");
      onDone();
    } catch (e) {
      toast(`Could not resend: ${e.message}`, { bad: true });
      setBusy(false);
    }
  }}>Resend</button>`;
}

function Composer({ conversation: c, windowOpen, replyRef, sender, onSent }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState(null);
  useEffect(() => setRefused(null), [c.last_inbound_ts]);
  const first = c.patient_name.split(" ")[0];
  const closed = !windowOpen || refused;

  async function send() {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    try {
      await api.post(`/conversations/${encodeURIComponent(c.patient_id)}/reply`, { text: body });
      setText("");
      onSent();
    } catch (e) {
      if (e.status === 409) setRefused(e.message);
      else toast(`Could not send: ${e.message}`, { bad: true });
    } finally {
      setBusy(false);
    }
  }

  if (closed) {
    const last = c.last_inbound_ts ? ago(new Date(c.last_inbound_ts * 1000).toISOString()) : null;
    const wrote = last ? (/ago$|now$/.test(last) ? last : `on ${last}`) : "more than a day ago";
    return html`<div class="composer closed" role="note">
      <strong>You can't reply here: the 24-hour window is closed.</strong>
      ${" "}${first} last wrote ${wrote}. WhatsApp now delivers only approved templates, so a template
      reminder is the only way to reach ${first} on WhatsApp. To talk now, call${" "}
      <strong>${showPhone(c.phone)}</strong>. Replying opens again as soon as ${first} writes.
    </div>`;
  }
  const waiting = sender && sender.state === "not_configured" && !c.simulated;
  return html`<form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
    ${!c.bot_paused && html`<p class="hint">Replying takes the conversation over: the bot stays quiet until you hand it back.</p>`}
    ${waiting && html`<p class="hint warn">WhatsApp is not set up yet: replies wait to send until it is (<a href="#/settings?section=whatsapp">Settings</a>).</p>`}
    <div class="compose-row">
      <textarea ref=${replyRef} rows="2" aria-label=${`Reply to ${c.patient_name}`} value=${text}
        placeholder="Type a reply · Enter sends, Shift+Enter starts a new line"
        onInput=${(e) => setText(e.target.value)}
        onKeyDown=${(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
        }}></textarea>
      <button class="primary" type="submit" disabled=${busy || !text.trim()}>Send</button>
    </div>
  </form>`;
}
