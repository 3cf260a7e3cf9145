// Dates, times, phones and labels, in the clinic's time zone and words.

export const STATUS_WORDS = {
  confirmed: "Confirmed",
  arrived: "Arrived",
  completed: "Completed",
  no_show: "No-show",
  cancelled: "Cancelled",
};
export const SOURCE_WORDS = { whatsapp: "WhatsApp", staff: "Phone/desk", "walk-in": "Walk-in" };
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

let zone = "Asia/Kolkata";
export function setTimeZone(tz) { zone = tz || zone; }
export function timeZone() { return zone; }

const cache = new Map();
function fmt(key, options) {
  const k = `${zone}|${key}`;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat("en-IN", { timeZone: zone, ...options });
    cache.set(k, f);
  }
  return f;
}

/** Today's date in the clinic, as YYYY-MM-DD. */
export function todayIso(now = new Date()) {
  const p = Object.fromEntries(
    fmt("ymd", { year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(now).map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}`;
}

/** Minutes since midnight, clinic time, of an instant. */
export function minutesOfDay(iso) {
  const p = Object.fromEntries(
    fmt("hm24", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(iso)).map((x) => [x.type, x.value]),
  );
  return Number(p.hour) * 60 + Number(p.minute);
}

export function time(iso) {
  return iso ? fmt("t", { hour: "numeric", minute: "2-digit", hour12: true }).format(new Date(iso)) : "";
}
export function dateTime(iso) {
  return iso
    ? fmt("dt", { day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit", hour12: true })
      .format(new Date(iso))
    : "";
}
/** "Tue 24 Nov 2026" from YYYY-MM-DD. */
export function longDate(day) {
  if (!day) return "";
  const d = new Date(`${day}T12:00:00Z`);
  return new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(d);
}
export function shortDate(day) {
  if (!day) return "";
  const d = new Date(`${day}T12:00:00Z`);
  return new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" }).format(d);
}
export function weekdayName(day) {
  return new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", weekday: "short" }).format(new Date(`${day}T12:00:00Z`));
}
/** Monday = 0 ... Sunday = 6, as the working-hours API counts. */
export function weekdayIndex(day) {
  return (new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7;
}
export function addDays(day, n) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
export function mondayOf(day) { return addDays(day, -weekdayIndex(day)); }

/** How long ago, in words: "just now", "5 min", "2 h", "3 Nov". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const s = (now - new Date(iso).getTime()) / 1000;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return fmt("dm", { day: "numeric", month: "short" }).format(new Date(iso));
}

/** +919876543210 -> +91 98765 43210 (Indian numbers); others left as they are. */
export function phone(e164) {
  if (!e164) return "";
  const m = /^\+91(\d{5})(\d{5})$/.exec(e164);
  return m ? `+91 ${m[1]} ${m[2]}` : e164;
}

export function percent(x, digits = 0) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)}%`;
}
export function money(x) {
  return new Intl.NumberFormat("en-IN", { style: "currency", currency: "INR", maximumFractionDigits: 0 }).format(x);
}
