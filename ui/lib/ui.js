// Shared parts of every screen: data loading that follows live changes, shortcuts, the
// status label, dialogs, toasts with Undo, and the honest empty/error/loading states.
import {
  html, createContext, useState, useEffect, useLayoutEffect, useRef, useContext, useCallback,
} from "./html.js";
import { STATUS_WORDS, SOURCE_WORDS } from "./format.js";

/** App-wide: clinic, doctors, services, the live version, toast(), reloadSetup(). */
export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

/**
 * Load data with `loader(signal)`; load again when `deps` change and whenever the server
 * reports a change (a WhatsApp booking, another window's edit). Keeps the last data while
 * reloading, so the screen never flickers.
 */
export function useData(loader, deps = [], { live = true } = {}) {
  const app = useApp();
  const version = live && app ? app.version : 0;
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [nonce, setNonce] = useState(0);
  const alive = useRef(true);
  useEffect(() => () => { alive.current = false; }, []);
  // A layout effect: the request leaves as the screen is drawn, not a frame later.
  useLayoutEffect(() => {
    const ctl = new AbortController();
    setState((s) => (s.loading ? s : { ...s, loading: true }));
    Promise.resolve()
      .then(() => loader(ctl.signal))
      .then(
        (data) => { if (!ctl.signal.aborted) setState({ data, error: null, loading: false }); },
        (error) => {
          if (!ctl.signal.aborted && error.name !== "AbortError") {
            setState((s) => ({ data: s.data, error, loading: false }));
          }
        },
      );
    return () => ctl.abort();
  }, [...deps, version, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

// ---- keyboard shortcuts -----------------------------------------------------------

const layers = [];
/** All shortcut layers, top first (for the ? overlay). */
export function shortcutLayers() { return [...layers].reverse(); }

function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

function keyName(e) {
  let k = e.key;
  if (k === " ") k = "Space";
  if (k.length === 1) k = k.toLowerCase();
  return (e.ctrlKey || e.metaKey ? "Ctrl+" : "") + (e.altKey ? "Alt+" : "") + k;
}

export function installShortcuts() {
  document.addEventListener("keydown", (e) => {
    const name = keyName(e);
    const inField = typing(e.target);
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i];
      const entry = layer.keys[name] || (e.key === "?" ? layer.keys["?"] : null);
      if (entry && (!inField || entry.inFields)) {
        const handled = entry.run(e);
        if (handled !== false) {
          e.preventDefault();
          e.stopPropagation();
          return;
        }
      }
      if (layer.modal) return; // a dialog hides the shortcuts beneath it
    }
  });
}

/**
 * Register shortcuts while the component is shown: `{ key: { label, run, inFields } }`.
 * `modal` layers (dialogs) hide the layers below them.
 */
export function useShortcuts(title, keys, deps = [], { modal = false } = {}) {
  const ref = useRef(null);
  if (!ref.current) ref.current = { title, keys, modal };
  ref.current.keys = keys;
  ref.current.title = title;
  // A layout effect: the keys work from the moment the screen is on the page, not a frame later.
  useLayoutEffect(() => {
    layers.push(ref.current);
    return () => {
      const i = layers.indexOf(ref.current);
      if (i >= 0) layers.splice(i, 1);
    };
  }, []);
  useLayoutEffect(() => { ref.current.keys = keys; }, deps);
}

// ---- small parts ---------------------------------------------------------------------

export function StatusLabel({ status }) {
  return html`<span class=${`status ${status}`}>${STATUS_WORDS[status] || status}</span>`;
}
export function SourceTag({ source }) {
  return html`<span class=${`tag ${source}`}>${SOURCE_WORDS[source] || source}</span>`;
}
export function Loading({ what = "Loading…" }) {
  return html`<div class="loading" role="status">${what}</div>`;
}
export function Empty({ title, children }) {
  return html`<div class="empty"><strong>${title}</strong>${children}</div>`;
}
export function ErrorBox({ error, retry }) {
  if (!error) return null;
  return html`<div class="error-state" role="alert">
    <strong>Could not load this.</strong>
    <div>${error.message}</div>
    ${retry && html`<p style="margin-top:10px"><button onClick=${retry}>Try again</button></p>`}
  </div>`;
}

/** A modal dialog: Escape or the × closes it; focus goes to the first field. */
export function Dialog({ title, onClose, children, footer, wide = false, label }) {
  const box = useRef(null);
  useShortcuts(title, { Escape: { label: "Close", run: () => onClose(), inFields: true } }, [onClose], { modal: true });
  useLayoutEffect(() => { // before the first paint: typing right away lands in the field
    const el = box.current && box.current.querySelector("[autofocus], input, select, textarea, button.primary");
    if (el) el.focus();
  }, []);
  return html`<div class="overlay" onMouseDown=${(e) => { if (e.target === e.currentTarget) onClose(); }}>
    <div class=${`dialog${wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label=${label || title} ref=${box}>
      <div class="dialog-head"><h2>${title}</h2>
        <button class="ghost icon-only" aria-label="Close" onClick=${onClose}>✕</button></div>
      <div class="dialog-body">${children}</div>
      ${footer && html`<div class="dialog-foot">${footer}</div>`}
    </div>
  </div>`;
}

/** A labelled form field; `error` shows under it. */
export function Field({ label, hint, error, children, id }) {
  return html`<label class="field" for=${id}>
    <span class="label">${label}</span>
    ${children}
    ${hint && !error && html`<span class="hint">${hint}</span>`}
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </label>`;
}

// ---- toasts -------------------------------------------------------------------------

let pushToast = () => {};
export function toast(message, { undo, bad = false, ms = 6000 } = {}) {
  pushToast({ message, undo, bad, ms, id: Math.random() });
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    pushToast = (t) => {
      setItems((xs) => [...xs.slice(-2), t]);
      setTimeout(() => setItems((xs) => xs.filter((x) => x.id !== t.id)), t.ms);
    };
  }, []);
  const close = (id) => setItems((xs) => xs.filter((x) => x.id !== id));
  useShortcuts("Undo", items.some((t) => t.undo)
    ? { "Ctrl+z": { label: "Undo the last change", run: () => {
      const t = [...items].reverse().find((x) => x.undo);
      close(t.id); t.undo();
    } } }
    : {}, [items]);
  return html`<div class="toasts" aria-live="polite">
    ${items.map((t) => html`<div class=${`toast${t.bad ? " bad" : ""}`} key=${t.id} role=${t.bad ? "alert" : "status"}>
      <span>${t.message}</span>
      ${t.undo && html`<button class="small" onClick=${() => { close(t.id); t.undo(); }}>Undo</button>`}
      <button class="small ghost" aria-label="Dismiss" onClick=${() => close(t.id)}>✕</button>
    </div>`)}
  </div>`;
}
