// Hash routes: #/today, #/patients/<id>, #/inbox/<patient id>, #/print?date=...
import { useState, useEffect } from "./html.js";

export function parse(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "today", parts: parts.slice(1), query: new URLSearchParams(search) };
}

export function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = hash;
  }
}

/** Change the query of the current route (say, the day shown) without a new history entry. */
export function setQuery(changes) {
  const r = parse();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") r.query.delete(k);
    else r.query.set(k, v);
  }
  const q = r.query.toString();
  navigate(`#/${[r.name, ...r.parts].map(encodeURIComponent).join("/")}${q ? `?${q}` : ""}`, { replace: true });
}

export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener("hashchange", on);
    on(); // the address may have changed before this listener was in place
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
