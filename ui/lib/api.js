// The staff API client. The token arrives in the URL fragment (#token=...), which a
// browser never sends to a server, so it never lands in a log; it is then kept in this
// window's sessionStorage and the fragment is removed from the address.

const KEY = "clinicbot.token";

export class ApiError extends Error {
  constructor(status, detail, field) {
    super(detail || `Request failed (${status})`);
    this.status = status;
    this.field = field || null;
  }
}

export function takeTokenFromUrl() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
  const rest = location.hash.replace(/(^#|&)token=[^&]+/, "$1").replace(/^#&/, "#");
  history.replaceState(null, "", location.pathname + location.search + (rest === "#" ? "" : rest));
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function query(params) {
  if (!params) return "";
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

function explain(status, body) {
  // Litestar's errors: {"status_code", "detail", "extra": [{"key", "message"}]}; ours add "field".
  let detail = body && (body.detail || body.message);
  let field = body && body.field;
  const extra = body && Array.isArray(body.extra) ? body.extra[0] : null;
  if (extra) {
    field = field || extra.key;
    if (extra.message && extra.message !== detail) {
      detail = /^Validation failed/.test(detail || "")
        ? `${extra.key ? extra.key.replace(/_/g, " ") + ": " : ""}${extra.message}`
        : `${detail ? detail + " " : ""}${extra.message}`;
    }
  }
  if (!detail) {
    detail = status === 0
      ? "clinicbot is not answering. Is it still running?"
      : `The server answered ${status}.`;
  }
  return new ApiError(status, detail, field);
}

export async function request(method, path, { params, body, signal, raw } = {}) {
  const headers = { Authorization: `Bearer ${token.get() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api/v1${path}${query(params)}`, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw explain(0, null);
  }
  if (res.status === 401) {
    onUnauthorized();
    throw new ApiError(401, "Please sign in again.");
  }
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    throw explain(res.status, data);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const api = {
  get: (path, params, opts) => request("GET", path, { ...opts, params }),
  post: (path, body, opts) => request("POST", path, { ...opts, body }),
  patch: (path, body, opts) => request("PATCH", path, { ...opts, body }),
  put: (path, body, opts) => request("PUT", path, { ...opts, body }),
  del: (path, opts) => request("DELETE", path, opts),
};

// Download a file from the API (the token goes in a header, so a plain link cannot do it).
export async function download(path, params, filename) {
  const res = await request("GET", path, { params, raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
