// Analytics: is the clinic growing; when and with whom do no-shows happen. The clinic's
// statistics as cards, then charts over a range of days kept in the route
// (#/analytics?from=&to=). uPlot draws on canvas, so every chart also has a sentence of
// numbers and a "show as table" view; the appointments go out as CSV.
import uPlot from "uplot";
import { html, useState, useLayoutEffect, useRef, useMemo } from "../lib/html.js";
import { api, download } from "../lib/api.js";
import { useApp, useData, useShortcuts, Empty, ErrorBox, Loading, toast } from "../lib/ui.js";
import { setQuery } from "../lib/router.js";
import { todayIso, addDays, shortDate, percent, WEEKDAYS, SOURCE_WORDS } from "../lib/format.js";

const MAX_DAYS = 731; // the API's limit: two years, a leap day included
const COLOURS = {
  completed: "#2e8b57", no_show: "#c8473d", open: "#4a78c2", cancelled: "#b8c0ca",
  new: "#0b7a75", returning: "#8fcdc8", rate: "#c8473d", hours: "#0b7a75",
  whatsapp: "#25a35a", staff: "#6b7a8c", "walk-in": "#8a5cc2",
};
const CHANNELS = ["whatsapp", "staff", "walk-in"];
const num = (n) => n.toLocaleString("en-IN");
const rate = (x) => percent(x, 1);

// ---- the range of days ------------------------------------------------------------------

function monthsBack(day, n) {
  const index = Number(day.slice(0, 4)) * 12 + Number(day.slice(5, 7)) - 1 - n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}-01`;
}

/** The preset ranges, each ending today; the first is the default. */
function presets(today) {
  return [
    { label: "Last 30 days", from: addDays(today, -29), to: today },
    { label: "Last 90 days", from: addDays(today, -89), to: today },
    { label: "This year", from: `${today.slice(0, 4)}-01-01`, to: today },
    { label: "Last 12 months", from: monthsBack(today, 11), to: today },
  ];
}

const dayCount = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / 86400000) + 1;

function rangeProblem(from, to) {
  if (!from || !to) return "Choose both the first and the last day.";
  if (from > to) return "The first day is after the last day: swap them to see the charts.";
  if (dayCount(from, to) > MAX_DAYS) return "Choose at most two years at a time.";
  return null;
}

// ---- words for axes, legends and tables -------------------------------------------------

const monthName = (m, style) => new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", month: style })
  .format(new Date(`${m}-01T12:00:00Z`));
/** "November 2026" (long) or "Nov ’26" (short) from YYYY-MM. */
const monthWords = (m, style) => (style === "long" ? `${monthName(m, "long")} ${m.slice(0, 4)}` : `${monthName(m, "short")} ’${m.slice(2, 4)}`);
const hourWords = (h) => `${h % 12 || 12} ${h < 12 ? "am" : "pm"}`;
const hourSpan = (h) => `${hourWords(h)}–${hourWords((h + 1) % 24)}`;
const dayStamp = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;
const stampDay = (ts) => new Date(ts * 1000).toISOString().slice(0, 10);
const withoutTitle = (name) => name.replace(/^Dr\.?\s+/i, "");
const surname = (name) => withoutTitle(name).split(/\s+/).pop();
/** Doctors on an axis: their surnames, or their names where two share one. */
function doctorLabels(names) {
  const counts = new Map(names.map((n) => [surname(n), 0]));
  for (const n of names) counts.set(surname(n), counts.get(surname(n)) + 1);
  return names.map((n) => (counts.get(surname(n)) > 1 ? withoutTitle(n) : surname(n)));
}
function axisDay(day, long) {
  if (!long) return shortDate(day).replace(/ \d{4}$/, "");
  const month = monthName(day.slice(0, 7), "short");
  return day.slice(5, 7) === "01" ? `${month} ${day.slice(0, 4)}` : month;
}

// ---- uPlot: a chart sized to its panel ------------------------------------------------------

const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const AXIS = {
  stroke: "#5d6878", font: FONT, labelFont: FONT,
  grid: { stroke: "#edf0f3", width: 1 }, ticks: { stroke: "#e1e5ea", width: 1, size: 4 },
};
const RATES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5];
const COUNTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000];

/** A y axis as wide as its longest label (uPlot's own size is fixed). */
function fitWidth(u, values, index, cycle) {
  const axis = u.axes[index];
  if (cycle > 1) return axis._size;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  u.ctx.font = axis.font[0];
  return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / uPlot.pxRatio) + 6;
}

function countAxis() {
  return { ...AXIS, size: fitWidth, incrs: COUNTS, values: (u, splits) => splits.map((v) => num(v)) };
}

function bars(label, fill, extra = {}) {
  return {
    label, fill, stroke: fill, width: 0, points: { show: false },
    value: (u, v) => (v == null ? "–" : num(v)),
    paths: uPlot.paths.bars({ size: [0.7, 56], ...extra.bars }),
    ...extra.series,
  };
}

/** Options for bars over categories (weekdays, doctors, hours, months). */
function categorical(name, labels, width, y, series) {
  const widest = Math.max(...labels.map((l) => l.length), 2) * 7 + 8; // px, at 12px type
  const step = Math.max(1, Math.ceil((labels.length * widest) / Math.max(width - 50, 100)));
  return {
    scales: { x: { time: false, range: () => [-0.5, labels.length - 0.5] }, y },
    axes: [
      {
        ...AXIS, grid: { show: false },
        splits: () => labels.map((_, i) => i).filter((i) => i % step === 0),
        values: (u, splits) => splits.map((i) => labels[i] ?? ""),
      },
      y.percent
        ? { ...AXIS, size: fitWidth, incrs: RATES, values: (u, splits) => splits.map((v) => `${Math.round(v * 100)}%`) }
        : countAxis(),
    ],
    series: [{ label: name, value: (u, i) => (i == null ? "–" : labels[i]) }, ...series],
  };
}

const countScale = { range: (u, min, max) => [0, Math.max(max, 4) * 1.08] };
const rateScale = { percent: true, range: (u, min, max) => [0, Math.max(max || 0, 0.05) * 1.15] };

/** A uPlot chart that fills its panel's width, redrawn on new data, destroyed on unmount.
 * Made in a layout effect, so that it is drawn with the render rather than a frame later. */
function Chart({ label, options, data, height = 190 }) {
  const box = useRef(null);
  useLayoutEffect(() => {
    const el = box.current;
    const made = options(Math.max(el.clientWidth, 200));
    const opts = {
      width: Math.max(el.clientWidth, 200), height,
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      select: { show: false },
      legend: { live: true },
      ...made,
      hooks: { draw: [() => { el.dataset.drawn = "true"; }] },
    };
    const chart = new uPlot(opts, data, el);
    const watch = new ResizeObserver(() => {
      const width = el.clientWidth;
      if (width > 0 && Math.abs(width - chart.width) > 1) chart.setSize({ width, height });
    });
    watch.observe(el);
    return () => { watch.disconnect(); chart.destroy(); delete el.dataset.drawn; };
  }, [data]);
  return html`<div class="an-chart" ref=${box} role="img" aria-label=${label}></div>`;
}

// ---- the charts -------------------------------------------------------------------------------

/** A chart's panel: heading, what it counts, a sentence of numbers, the chart or its table. */
function ChartPanel({ title, meaning, summary, table, chart, span = "half" }) {
  const [asTable, setAsTable] = useState(false);
  return html`<section class=${`panel an-panel ${span}`} aria-label=${title}>
    <div class="panel-head">
      <h2>${title}</h2>
      ${table && html`<button class="small ghost an-toggle" aria-pressed=${asTable} aria-label="Show as table"
        title="Show the numbers as a table" onClick=${() => setAsTable(!asTable)}>Table</button>`}
    </div>
    <div class="panel-body">
      <p class="an-meaning muted">${meaning}</p>
      <p class="an-summary">${summary}</p>
      ${asTable ? html`<div class="an-table-box">${table}</div>` : chart}
    </div>
  </section>`;
}

function Table({ label, head, rows }) {
  return html`<table class="grid an-table" aria-label=${label}>
    <thead><tr>${head.map((h, i) => html`<th class=${i ? "num" : ""} scope="col">${h}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c, i) => (i ? html`<td class="num">${c}</td>` : html`<th scope="row">${c}</th>`))}</tr>`)}</tbody>
  </table>`;
}

function PerDay({ days }) {
  const open = days.map((d) => d.total - d.completed - d.no_show - d.cancelled);
  const total = days.reduce((n, d) => n + d.total, 0);
  const sum = (k) => days.reduce((n, d) => n + d[k], 0);
  const busiest = days.reduce((a, d) => (d.total > a.total ? d : a), days[0]);
  const data = useMemo(() => {
    const layers = [days.map((d) => d.completed), days.map((d) => d.no_show), open, days.map((d) => d.cancelled)];
    const stacked = layers.map((_, k) => days.map((_, i) => layers.slice(0, k + 1).reduce((n, l) => n + l[i], 0)));
    return [days.map((d) => dayStamp(d.date)), ...stacked];
  }, [days]);
  const raw = [null, days.map((d) => d.completed), days.map((d) => d.no_show), open, days.map((d) => d.cancelled)];
  const shown = (u, v, s, i) => (i == null ? "–" : num(raw[s][i]));
  const options = (width) => ({
    scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] }, y: countScale },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    bands: [{ series: [2, 1] }, { series: [3, 2] }, { series: [4, 3] }],
    axes: [
      { ...AXIS, grid: { show: false }, values: (u, splits) => splits.map((ts) => axisDay(stampDay(ts), days.length > 100)) },
      countAxis(),
    ],
    series: [
      { label: "Day", value: (u, ts) => (ts == null ? "–" : shortDate(stampDay(ts))) },
      bars("Completed", COLOURS.completed, { series: { value: shown }, bars: { size: [0.8, 40] } }),
      bars("No-show", COLOURS.no_show, { series: { value: shown }, bars: { size: [0.8, 40] } }),
      bars("Booked, not yet seen", COLOURS.open, { series: { value: shown }, bars: { size: [0.8, 40] } }),
      bars("Cancelled", COLOURS.cancelled, { series: { value: shown }, bars: { size: [0.8, 40] } }),
    ],
    width,
  });
  const summary = `${num(total)} appointments over ${days.length} days: ${num(sum("completed"))} completed, `
    + `${num(sum("no_show"))} no-shows, ${num(sum("cancelled"))} cancelled, ${num(open.reduce((a, b) => a + b, 0))} booked and not yet seen. `
    + `Busiest day: ${shortDate(busiest.date)}, with ${num(busiest.total)}.`;
  return html`<${ChartPanel} span="full" title="Appointments per day" summary=${summary}
    meaning="Every appointment by the day it is for, stacked by what became of it."
    chart=${html`<${Chart} label=${summary} options=${options} data=${data} height=${210} />`}
    table=${html`<${Table} label="Appointments per day" head=${["Day", "All", "Completed", "No-show", "Cancelled", "Not yet seen"]}
      rows=${days.map((d, i) => [shortDate(d.date), num(d.total), num(d.completed), num(d.no_show), num(d.cancelled), num(open[i])])} />`} />`;
}

function Months({ months }) {
  const labels = months.map((m) => monthWords(m.month, "short"));
  const data = useMemo(() => [months.map((_, i) => i), months.map((m) => m.new), months.map((m) => m.returning)], [months]);
  const news = months.reduce((n, m) => n + m.new, 0);
  const back = months.reduce((n, m) => n + m.returning, 0);
  const options = (width) => categorical("Month", labels, width, countScale, [
    bars("New", COLOURS.new, { bars: { size: [0.36, 28], align: -1 } }),
    bars("Returning", COLOURS.returning, { bars: { size: [0.36, 28], align: 1 } }),
  ]);
  const summary = `${num(news)} new and ${num(back)} returning patients had a completed visit, over ${months.length} ${months.length === 1 ? "month" : "months"}.`;
  return html`<${ChartPanel} title="New and returning patients per month" summary=${summary}
    meaning="Patients seen in the month: new in the month of their first completed visit, returning after."
    chart=${html`<${Chart} label=${summary} options=${options} data=${data} />`}
    table=${html`<${Table} label="New and returning patients per month" head=${["Month", "New", "Returning"]}
      rows=${months.map((m) => [monthWords(m.month, "long"), num(m.new), num(m.returning)])} />`} />`;
}

function worst(rows, name) {
  const rated = rows.filter((r) => r.rate !== null);
  if (!rated.length) return "No completed visits or no-shows in this range yet.";
  const top = rated.reduce((a, r) => (r.rate > a.rate ? r : a), rated[0]);
  const low = rated.reduce((a, r) => (r.rate < a.rate ? r : a), rated[0]);
  return `Highest: ${name(top)}, ${rate(top.rate)} (${num(top.no_shows)} of ${num(top.no_shows + top.completed)}). `
    + `Lowest: ${name(low)}, ${rate(low.rate)}.`;
}

function NoShows({ title, axis, rows, name, short, meaning }) {
  const labels = short(rows);
  const data = useMemo(() => [rows.map((_, i) => i), rows.map((r) => r.rate)], [rows]);
  const summary = worst(rows, name);
  const options = (width) => categorical(axis, labels, width, rateScale, [
    bars("No-show rate", COLOURS.rate, { series: { value: (u, v) => (v == null ? "–" : rate(v)) } }),
  ]);
  return html`<${ChartPanel} span="third" title=${title} summary=${summary} meaning=${meaning}
    chart=${html`<${Chart} label=${`${title}. ${summary}`} options=${options} data=${data} />`}
    table=${html`<${Table} label=${title} head=${["", "No-shows", "Completed", "No-show rate"]}
      rows=${rows.map((r) => [name(r), num(r.no_shows), num(r.completed), rate(r.rate)])} />`} />`;
}

const HOURS_MEANING = "Appointments by the hour they start, cancelled ones left out. The table splits them by weekday.";

function Hours({ cells }) {
  return cells.length
    ? html`<${BusiestHours} cells=${cells} />`
    : html`<${ChartPanel} title="Busiest hours" meaning=${HOURS_MEANING}
      summary="Every appointment in this range was cancelled, so no hour was busy." />`;
}

function BusiestHours({ cells }) {
  const byHour = new Map();
  for (const c of cells) byHour.set(c.hour, (byHour.get(c.hour) || 0) + c.appointments);
  const known = [...byHour.keys()];
  const hours = [];
  for (let h = Math.min(...known); h <= Math.max(...known); h++) hours.push(h);
  const counts = hours.map((h) => byHour.get(h) || 0);
  const data = useMemo(() => [hours.map((_, i) => i), counts], [cells]);
  const peak = hours[counts.indexOf(Math.max(...counts))];
  const grid = (h, wd) => cells.find((c) => c.hour === h && c.weekday === wd)?.appointments || 0;
  const summary = `Busiest hour: ${hourSpan(peak)}, with ${num(byHour.get(peak))} appointments; `
    + `the clinic's hours run from ${hourWords(hours[0])} to ${hourWords((hours[hours.length - 1] + 1) % 24)}.`;
  const options = (width) => categorical("Hour", hours.map(hourWords), width, countScale, [bars("Appointments", COLOURS.hours)]);
  return html`<${ChartPanel} title="Busiest hours" summary=${summary} meaning=${HOURS_MEANING}
    chart=${html`<${Chart} label=${summary} options=${options} data=${data} />`}
    table=${html`<${Table} label="Busiest hours" head=${["Hour", ...WEEKDAYS.map((w) => w.slice(0, 3)), "All"]}
      rows=${hours.map((h, i) => [hourSpan(h), ...WEEKDAYS.map((_, wd) => num(grid(h, wd))), num(counts[i])])} />`} />`;
}

function Channels({ channels }) {
  const total = channels.reduce((n, c) => n + c.appointments, 0);
  const order = [...channels].sort((a, b) => CHANNELS.indexOf(a.source) - CHANNELS.indexOf(b.source));
  const share = (c) => (total ? c.appointments / total : 0);
  const top = order.reduce((a, c) => (c.appointments > a.appointments ? c : a), order[0]);
  const summary = `${num(total)} appointments; most came by ${SOURCE_WORDS[top.source] || top.source} (${percent(share(top))}).`;
  return html`<${ChartPanel} span="third" title="Bookings by channel" summary=${summary}
    meaning="How each appointment in the range was booked: by the patient on WhatsApp, by staff on the phone or at the desk, or as a walk-in."
    chart=${html`<div class="an-channels">
      <div class="an-share" aria-hidden="true">
        ${order.filter((c) => c.appointments > 0).map((c) => html`<span style=${`flex:${c.appointments};background:${COLOURS[c.source] || "#999"}`}
          title=${`${SOURCE_WORDS[c.source] || c.source}: ${num(c.appointments)}`}></span>`)}
      </div>
      <ul class="an-legend" aria-label="Bookings by channel">
        ${order.map((c) => html`<li>
          <span class="swatch" style=${`background:${COLOURS[c.source] || "#999"}`}></span>
          <span class="name">${SOURCE_WORDS[c.source] || c.source}</span>
          <strong class="num">${num(c.appointments)}</strong>
          <span class="muted num">${percent(share(c))}</span></li>`)}
      </ul>
    </div>`} />`;
}

// ---- the screen ----------------------------------------------------------------------------------

const CARDS = [
  ["total_patients", "Patients", "Patient records on file, less those marked inactive", num],
  ["new_patients_this_month", "New this month", "Records created since the 1st of this month", num],
  ["active_patients", "Active patients", "A completed visit in the last 12 months, or a booking ahead", num],
  ["total_appointments", "Appointments", "Every appointment ever booked, whatever its status", num],
  ["no_show_rate", "No-show rate", "No-shows ÷ (completed + no-shows), all time", rate],
];

// The clinic statistics come with the range's analytics (one request, not two side by side);
// they are the same whatever the range. With no range to ask about, they are asked alone.
function StatCards({ clinicId, stats }) {
  const alone = stats === undefined;
  const { data: own, error, reload } = useData(
    (signal) => (alone ? api.get(`/patients/stats/clinic/${clinicId}`, null, { signal }) : null),
    [clinicId, alone],
  );
  const data = alone ? own : stats;
  if (alone && error && !data) return html`<div class="panel an-cards-error"><${ErrorBox} error=${error} retry=${reload} /></div>`;
  return html`<div class="cards an-cards" role="group" aria-label="Clinic statistics">
    ${CARDS.map(([key, label, meaning, show]) => html`<div class="card" role="group" aria-label=${label}>
      <div class="label">${label}</div>
      <div class="value">${data ? show(data[key]) : "…"}</div>
      <div class="sub">${meaning}</div>
    </div>`)}
  </div>`;
}

export default function Analytics({ route }) {
  const { clinic } = useApp();
  const today = todayIso();
  const choices = presets(today);
  const from = route.query.get("from") || choices[0].from;
  const to = route.query.get("to") || choices[0].to;
  const problem = rangeProblem(from, to);
  const preset = choices.find((p) => p.from === from && p.to === to);
  const [exporting, setExporting] = useState(false);

  const { data, error, reload } = useData(
    (signal) => (problem ? null : api.get("/analytics", { clinic_id: clinic.id, date_from: from, date_to: to }, { signal })),
    [clinic.id, from, to],
  );
  // Dimmed only while another range loads: a live refresh of the same range stays quiet.
  const current = data && data.date_from === from && data.date_to === to;
  const busy = !problem && !error && Boolean(data) && !current;
  const shown = problem || (error && !current) ? null : data; // never another range's figures beside an error

  async function exportCsv() {
    if (problem || exporting) return;
    setExporting(true);
    try {
      await download("/analytics/appointments.csv", { clinic_id: clinic.id, date_from: from, date_to: to }, `appointments-${from}-${to}.csv`);
    } catch (e) {
      toast(`Could not export the appointments: ${e.message}`, { bad: true });
    } finally {
      setExporting(false);
    }
  }
  useShortcuts("Analytics", { e: { label: "Export the range's appointments as CSV", run: exportCsv } }, [from, to, problem, exporting]);

  const total = shown ? shown.appointments_per_day.reduce((n, d) => n + d.total, 0) : 0;
  return html`<div class="page analytics">
    <div class="page-head">
      <h1>Analytics</h1>
      <span class="muted">${shortDate(from)} – ${shortDate(to)}${problem ? "" : ` · ${dayCount(from, to)} days`}</span>
      <span class="spacer"></span>
      <button onClick=${exportCsv} disabled=${Boolean(problem) || exporting} title="Export the appointments of this range (e)">
        ${exporting ? "Exporting…" : "Export CSV"} <kbd>e</kbd></button>
    </div>
    <div class="an-range" role="group" aria-label="Date range">
      <div class="btn-group" role="group" aria-label="Preset ranges">
        ${choices.map((p) => html`<button aria-pressed=${preset === p} onClick=${() => setQuery({ from: p.from, to: p.to })}>${p.label}</button>`)}
      </div>
      <label class="an-date">From <input type="date" aria-label="From" value=${from} max=${today}
        onChange=${(e) => e.target.value && setQuery({ from: e.target.value, to })} /></label>
      <label class="an-date">To <input type="date" aria-label="To" value=${to}
        onChange=${(e) => e.target.value && setQuery({ from, to: e.target.value })} /></label>
      ${busy && html`<span class="muted an-busy" role="status">Updating…</span>`}
    </div>

    <${StatCards} clinicId=${clinic.id} stats=${problem ? undefined : data ? data.stats : null} />

    ${problem && html`<div class="notice warn" role="alert">${problem}</div>`}
    ${!problem && error && html`<div class="panel an-error"><${ErrorBox} error=${error} retry=${reload} /></div>`}
    ${!problem && !data && !error && html`<div class="panel"><${Loading} what="Counting the range's appointments…" /></div>`}
    ${shown && total === 0 && html`<div class="panel" aria-busy=${busy}><${Empty} title=${`No appointments between ${shortDate(shown.date_from)} and ${shortDate(shown.date_to)}`}>
      Choose a longer range above, or book patients from <a href="#/today">Today</a>; simulator chats never count here.<//></div>`}
    ${shown && total > 0 && html`<div class=${`an-grid${busy ? " stale" : ""}`} aria-busy=${busy}>
      <${PerDay} days=${shown.appointments_per_day} />
      <${Months} months=${shown.new_vs_returning} />
      <${Hours} cells=${shown.busiest_hours} />
      <${NoShows} title="No-show rate by weekday" axis="Weekday" rows=${shown.no_show_rate_by_weekday}
        meaning="No-shows ÷ (completed + no-shows), by the weekday of the appointment."
        name=${(r) => WEEKDAYS[r.weekday]} short=${(rows) => rows.map((r) => WEEKDAYS[r.weekday].slice(0, 3))} />
      <${NoShows} title="No-show rate by doctor" axis="Doctor" rows=${shown.no_show_rate_by_doctor}
        meaning="No-shows ÷ (completed + no-shows), for each doctor's appointments."
        name=${(r) => r.doctor_name} short=${(rows) => doctorLabels(rows.map((r) => r.doctor_name))} />
      <${Channels} channels=${shown.bookings_by_channel} />
    </div>`}
  </div>`;
}
