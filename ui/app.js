// clinicbot's staff window: the shell (navigation, search, connection state, live
// updates, shortcuts) around one screen at a time. Screens load on first use.
import { html, render, useState, useEffect, useRef, useCallback } from "./lib/html.js";
import { api, token, takeTokenFromUrl, setUnauthorizedHandler } from "./lib/api.js";
import {
  AppContext, Toasts, useShortcuts, installShortcuts, shortcutLayers, Dialog, Loading, ErrorBox,
} from "./lib/ui.js";
import { setTimeZone, phone as showPhone } from "./lib/format.js";
import { useRoute, navigate, parse } from "./lib/router.js";

const SCREENS = {
  today: { label: "Today", icon: "◉", key: "1", load: () => import("./screens/today.js") },
  calendar: { label: "Calendar", icon: "▦", key: "2", load: () => import("./screens/calendar.js") },
  patients: { label: "Patients", icon: "☺", key: "3", load: () => import("./screens/patients.js") },
  inbox: { label: "Inbox", icon: "✉", key: "4", load: () => import("./screens/inbox.js") },
  analytics: { label: "Analytics", icon: "▤", key: "5", load: () => import("./screens/analytics.js") },
  bot: { label: "Try the bot", icon: "◌", key: "6", load: () => import("./screens/trybot.js") },
  settings: { label: "Settings", icon: "⚙", key: "7", load: () => import("./screens/settings.js") },
  print: { label: "Day list", hidden: true, load: () => import("./screens/print.js") },
};

const loaded = new Map();
function useScreen(name) {
  const [mod, setMod] = useState(() => loaded.get(name) || null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (loaded.has(name)) { setMod(loaded.get(name)); return undefined; }
    let live = true; // a module that loads after the user moved on must not replace the new one
    setMod(null);
    setError(null);
    SCREENS[name].load().then(
      (m) => { loaded.set(name, m); if (live) setMod(m); },
      (e) => { if (live) setError(e); },
    );
    return () => { live = false; };
  }, [name]);
  return { mod, error };
}

// ---- live updates: a long poll on /changes ----------------------------------------------

// `initial` is the version read before the app loaded its data, so a change made while it
// loaded is never missed.
function useLiveVersion(enabled, initial) {
  const [version, setVersion] = useState(0);
  const [online, setOnline] = useState(true);
  useEffect(() => {
    if (!enabled) return undefined;
    let stop = false;
    let last = initial || null;
    let ctl = null;
    (async () => {
      while (!stop) {
        ctl = new AbortController();
        try {
          const r = await api.get("/changes", { after: last, wait: last ? 25 : 0 }, { signal: ctl.signal });
          setOnline(true);
          if (last !== null && r.version !== last) setVersion((v) => v + 1);
          last = r.version;
          await new Promise((ok) => setTimeout(ok, 400)); // at most ~2 refreshes a second
        } catch (e) {
          if (stop) return;
          setOnline(false);
          await new Promise((ok) => setTimeout(ok, 3000));
          last = null;
          setVersion((v) => v + 1); // reconnected: everything may have changed
        }
      }
    })();
    return () => { stop = true; if (ctl) ctl.abort(); };
  }, [enabled]);
  return { version, online };
}

// ---- the WhatsApp connection corner -----------------------------------------------------

const SENDER_WORDS = {
  ok: ["ok", "WhatsApp connected"],
  retrying: ["warn", "WhatsApp offline"],
  auth_failed: ["bad", "WhatsApp token refused"],
  not_configured: ["", "WhatsApp not set up · simulator"],
  stopped: ["bad", "Sender stopped"],
};

// ---- health: what needs attention (GET /status), for a dot on Settings and the corner ----

// Disk and backups change without a database commit: look every 30 s, and on each change.
function useAttention(enabled, version) {
  const [attention, setAttention] = useState([]);
  useEffect(() => {
    if (!enabled) return undefined;
    let gone = false;
    const load = () => api.get("/status").then((s) => !gone && setAttention(s.attention || []), () => {});
    load();
    const t = setInterval(load, 30000);
    return () => { gone = true; clearInterval(t); };
  }, [enabled, version]);
  return attention;
}

// The corner's few words for what is not WhatsApp's own (failed and waiting it shows itself).
const ATTENTION_WORDS = {
  disk_low: "disk almost full", backup_failing: "backup failing", backup_old: "backup overdue",
  copy_folder: "backup drive missing",
};

function ConnectionCorner({ clinicId, version, online, attention = [] }) {
  const [s, setS] = useState(null);
  const [tunnel, setTunnel] = useState(null);
  useEffect(() => {
    let gone = false;
    const load = () => {
      api.get("/messages/sender", { clinic_id: clinicId }).then((x) => !gone && setS(x), () => {});
      api.get("/tunnel").then((x) => !gone && setTunnel(x), () => {});
    };
    load();
    // Settings saved on the settings screen are not database writes: look again soon.
    const t = setInterval(load, location.hash.startsWith("#/settings") ? 3000 : 15000);
    return () => { gone = true; clearInterval(t); };
  }, [clinicId, version, location.hash.startsWith("#/settings")]);
  if (!online) {
    return html`<a class="conn bad" href="#/settings" role="status"><span class="dot"></span>clinicbot server not answering</a>`;
  }
  if (!s) return html`<span class="conn" role="status"><span class="dot"></span>…</span>`;
  let [cls, words] = SENDER_WORDS[s.state] || ["", s.state];
  const extra = [];
  if (s.backlog > 0 && s.state !== "not_configured") extra.push(`${s.backlog} waiting`);
  if (s.failed > 0) { extra.push(`${s.failed} failed`); if (cls === "ok") cls = "warn"; }
  if (tunnel && tunnel.state === "restarting") { extra.push("tunnel down"); cls = cls === "ok" ? "warn" : cls; }
  const health = attention.filter((a) => ATTENTION_WORDS[a]).map((a) => ATTENTION_WORDS[a]);
  if (health.length) { extra.push(health[0]); if (cls === "ok" || cls === "") cls = "warn"; }
  const title = [s.detail, tunnel && tunnel.state !== "unavailable" ? `Tunnel: ${tunnel.state}` : "", "Click for the health view"].filter(Boolean).join(" · ");
  return html`<a class=${`conn ${cls}`} href="#/settings?section=health" title=${title} role="status" aria-label=${`${words}${extra.length ? ", " + extra.join(", ") : ""}`}>
    <span class="dot"></span>${words}${extra.length ? ` · ${extra.join(" · ")}` : ""}</a>`;
}

// ---- top search: / jumps here --------------------------------------------------------------

function TopSearch({ clinicId }) {
  const input = useRef(null);
  const [q, setQ] = useState("");
  const [hits, setHits] = useState([]);
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  useShortcuts("Everywhere", {
    "/": { label: "Search patients", run: () => { input.current.focus(); input.current.select(); } },
  });
  useEffect(() => {
    const text = q.trim();
    if (!text) { setHits([]); return undefined; }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api.get("/patients", { clinic_id: clinicId, q: text, limit: 8 }, { signal: ctl.signal })
        .then((xs) => { setHits(xs); setActive(0); setOpen(true); }, () => {});
    }, 60);
    return () => { clearTimeout(t); ctl.abort(); };
  }, [q]);
  const go = (p) => { setOpen(false); setQ(""); input.current.blur(); navigate(`#/patients/${p.id}`); };
  return html`<div class="search" role="search">
    <span class="icon" aria-hidden="true">⌕</span>
    <input ref=${input} type="search" placeholder="Find a patient by name or phone" aria-label="Search patients"
      value=${q} onInput=${(e) => setQ(e.target.value)}
      onFocus=${() => hits.length && setOpen(true)} onBlur=${() => setTimeout(() => setOpen(false), 150)}
      onKeyDown=${(e) => {
        if (e.key === "Escape") { setQ(""); e.target.blur(); }
        if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => Math.min(a + 1, hits.length - 1)); }
        if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(a - 1, 0)); }
        if (e.key === "Enter") {
          if (hits[active]) go(hits[active]);
          else if (q.trim()) { navigate(`#/patients?q=${encodeURIComponent(q.trim())}`); setQ(""); }
        }
      }} />
    ${!q && html`<kbd aria-hidden="true">/</kbd>`}
    ${open && q && html`<ul class="suggest" role="listbox" aria-label="Patients found">
      ${hits.length === 0 ? html`<li class="muted">No patient matches “${q}”</li>`
        : hits.map((p, i) => html`<li role="option" key=${p.id} aria-selected=${i === active}
          onMouseDown=${(e) => { e.preventDefault(); go(p); }}>
          <strong>${p.name}</strong> <span class="muted">${showPhone(p.phone)} · ${p.total_visits} ${p.total_visits === 1 ? "visit" : "visits"}</span></li>`)}
    </ul>`}
  </div>`;
}

// ---- help: ? ------------------------------------------------------------------------------

function Help({ onClose }) {
  const layers = shortcutLayers().filter((l) => !l.modal && Object.keys(l.keys).length);
  return html`<${Dialog} title="Keyboard shortcuts" onClose=${onClose}>
    <div class="help-grid">
      ${layers.map((l) => html`<h3>${l.title}</h3>
        ${Object.entries(l.keys).filter(([, v]) => v.label).map(([k, v]) => html`<kbd>${k}</kbd><span>${v.label}</span>`)}`)}
      <h3>In lists and dialogs</h3>
      <kbd>↑ ↓</kbd><span>Move the selection</span>
      <kbd>Esc</kbd><span>Close a dialog</span>
      <kbd>Ctrl+Enter</kbd><span>Save a booking</span>
    </div>
  <//>`;
}

// ---- sign in ----------------------------------------------------------------------------------

function SignIn({ onDone, failed }) {
  const [value, setValue] = useState("");
  return html`<div class="center-page"><div class="panel center-card"><div class="panel-body">
    <h1 style="margin-bottom:8px">Sign in to clinicbot</h1>
    <p class="muted">The desktop window signs in by itself. In a browser, paste the staff token: it is in the file
      <code>staff_token</code> in clinicbot's data folder (or the <code>CLINICBOT_STAFF_TOKEN</code> setting).</p>
    ${failed && html`<div class="notice bad" role="alert">That token was not accepted.</div>`}
    <form onSubmit=${(e) => { e.preventDefault(); token.set(value); onDone(); }}>
      <div class="field"><span class="label">Staff token</span>
        <input type="password" aria-label="Staff token" value=${value} autofocus onInput=${(e) => setValue(e.target.value)} /></div>
      <button class="primary" type="submit" disabled=${!value.trim()}>Sign in</button>
    </form>
  </div></div></div>`;
}

// ---- the app --------------------------------------------------------------------------------

function Shell({ clinics, clinic, setClinicId, doctors, services, reloadSetup, initialVersion }) {
  const route = useRoute();
  const name = SCREENS[route.name] ? route.name : "today";
  // The first screen's data goes first; the live feed, the connection corner and the
  // unread count start a moment later (they share one server with it).
  const [started, setStarted] = useState(false);
  useEffect(() => { const t = setTimeout(() => setStarted(true), 400); return () => clearTimeout(t); }, []);
  const { version, online } = useLiveVersion(started, initialVersion);
  const attention = useAttention(started, version);
  const [help, setHelp] = useState(false);
  const [unread, setUnread] = useState(0);
  const { mod, error } = useScreen(name);

  useEffect(() => { if (version) reloadSetup(); }, [version]); // the app has just loaded it
  useEffect(() => {
    if (!started) return;
    api.get("/conversations", { clinic_id: clinic.id, limit: 100 })
      .then((xs) => setUnread(xs.filter((c) => !c.simulated).reduce((n, c) => n + c.unread, 0)), () => {});
  }, [version, clinic.id, started]);
  useEffect(() => {
    document.title = `${SCREENS[name].label} · ${clinic.name} · clinicbot`;
  }, [name, clinic.name]);

  const keys = { "?": { label: "Show these shortcuts", run: () => setHelp(true) } };
  for (const [k, s] of Object.entries(SCREENS)) {
    if (s.key) keys[s.key] = { label: `Go to ${s.label}`, run: () => navigate(`#/${k}`) };
  }
  useShortcuts("Everywhere", keys);

  const ctx = { clinic, clinics, doctors, services, version, online, reloadSetup };
  const Screen = mod && mod.default;
  return html`<${AppContext.Provider} value=${ctx}>
    <div class="shell">
      <nav class="sidebar" aria-label="Screens">
        <div class="brand"><span class="brand-mark" aria-hidden="true">+</span>clinicbot</div>
        <div class="nav">
          ${Object.entries(SCREENS).filter(([, s]) => !s.hidden).map(([k, s]) => html`
            <a href=${`#/${k}`} aria-current=${k === name ? "page" : undefined}>
              <span class="icon" aria-hidden="true">${s.icon}</span>${s.label}
              ${k === "inbox" && unread > 0 ? html`<span class="badge" aria-label=${`${unread} unread`}>${unread}</span>`
                : k === "settings" && attention.length ? html`<span class="attention-dot" role="img" aria-label="Needs attention: see Settings › Health" title="Something needs attention: see Settings › Health"></span>`
                : html`<kbd aria-hidden="true">${s.key}</kbd>`}
            </a>`)}
        </div>
        <div class="sidebar-foot">
          <button class="ghost small" onClick=${() => setHelp(true)}>Shortcuts <kbd>?</kbd></button>
        </div>
      </nav>
      <header class="topbar">
        ${clinics.length > 1
          ? html`<select aria-label="Clinic" value=${clinic.id} onChange=${(e) => setClinicId(e.target.value)}>
              ${clinics.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>`
          : html`<span class="clinic">${clinic.name}</span>`}
        <${TopSearch} clinicId=${clinic.id} />
        ${started ? html`<${ConnectionCorner} clinicId=${clinic.id} version=${version} online=${online} attention=${attention} />`
          : html`<span class="conn" role="status"><span class="dot"></span>…</span>`}
      </header>
      <main class="main" id="main">
        ${error ? html`<div class="page"><${ErrorBox} error=${error} retry=${() => location.reload()} /></div>`
          : Screen ? html`<${Screen} key=${name} route=${route} />` : html`<${Loading} />`}
      </main>
    </div>
    ${help && html`<${Help} onClose=${() => setHelp(false)} />`}
    <${Toasts} />
  <//>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(token.get()));
  const [failed, setFailed] = useState(false);
  const [setup, setSetup] = useState(null); // { clinics, doctors, services }
  const [error, setError] = useState(null);
  const [clinicId, setClinicId] = useState(localStorage.getItem("clinicbot.clinic"));
  const [firstRun, setFirstRun] = useState(null);
  const initialVersion = useRef(null);

  useEffect(() => setUnauthorizedHandler(() => { token.clear(); setFailed(true); setSignedIn(false); }), []);

  const reloadSetup = useCallback(async () => {
    try {
      if (!initialVersion.current) { // before any data: what changes from here on is news
        initialVersion.current = (await api.get("/changes", { wait: 0 })).version;
      }
      const clinics = await api.get("/clinics");
      if (!clinics.length) { setSetup({ clinics, doctors: [], services: [] }); return; }
      const chosen = clinics.find((c) => c.id === clinicId) || clinics[0];
      const [doctors, services] = await Promise.all([
        api.get("/doctors", { clinic_id: chosen.id }),
        api.get("/services", { clinic_id: chosen.id }),
      ]);
      setTimeZone(chosen.timezone);
      setSetup({ clinics, clinic: chosen, doctors, services });
      setError(null);
    } catch (e) {
      if (e.status !== 401) setError(e);
    }
  }, [clinicId]);

  useEffect(() => { if (signedIn) reloadSetup(); }, [signedIn, clinicId]);

  if (!signedIn) return html`<${SignIn} failed=${failed} onDone=${() => { setFailed(false); setSignedIn(true); }} />`;
  if (error && !setup) return html`<div class="center-page"><div class="panel center-card"><${ErrorBox} error=${error} retry=${reloadSetup} /></div></div>`;
  if (!setup) return html`<${Loading} what="Opening clinicbot…" />`;
  if (!setup.clinics.length || firstRun) {
    return html`<${FirstRun} onDone=${() => { setFirstRun(null); reloadSetup(); }} />`;
  }
  return html`<${Shell} clinics=${setup.clinics} clinic=${setup.clinic} doctors=${setup.doctors}
    services=${setup.services} reloadSetup=${reloadSetup} initialVersion=${initialVersion.current}
    setClinicId=${(id) => { localStorage.setItem("clinicbot.clinic", id); setClinicId(id); }} />`;
}

function FirstRun({ onDone }) {
  const [mod, setMod] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { import("./screens/setup.js").then(setMod, setError); }, []);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!mod) return html`<${Loading} />`;
  const Setup = mod.default;
  return html`<${Setup} onDone=${onDone} />`;
}

takeTokenFromUrl();
installShortcuts();
// Fetch the first screen's module while the clinic loads, not after.
const first = SCREENS[parse().name];
if (first && token.get()) first.load().catch(() => {});
render(html`<${App} />`, document.getElementById("app"));
