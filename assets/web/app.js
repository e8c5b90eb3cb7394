// The explorer page: controls ↔ URL, requests to /api/simulate and /api/band (debounced),
// plots, mechanism diagrams with a time slider, the summary table and downloads.
"use strict";
(function () {
  const P = () => window.Il1Plot;
  const COLOURS = { a: "#0072B2", b: "#D55E00" }; // Okabe–Ito blue and vermillion
  const DASH = { a: "", b: "7 4" };
  const DEBOUNCE_MS = 150;
  const REGIMEN_DEFAULTS = {
    a: { drug: "anakinra", dose: "100", unit: "mg", route: "sc", inf: "", every: "24", eu: "h", load: "", missed: "", late: "", stop: "" },
    b: { drug: "anakinra", dose: "100", unit: "mg", route: "sc", inf: "", every: "48", eu: "h", load: "", missed: "", late: "", stop: "" },
  };
  const PAGE_DEFAULTS = { disease: "ra", weight: "70", age: "50", sex: "female", crcl: "100", days: "28", band: "", log: "", cmp: "", t: "" };
  const FIELDS = ["drug", "dose", "unit", "route", "inf", "every", "eu", "load", "missed", "late", "stop"];

  let meta = null;
  let results = { a: null, b: null };
  let bands = { a: null, b: null };
  let generation = 0;
  let timer = null;
  let playing = null;
  window.il1sim = { renders: 0, timings: [], bandTimings: [] };

  const $ = (id) => document.getElementById(id);

  function regimenFieldset(r) {
    const title = r === "a" ? "Regimen A (solid line)" : "Regimen B (dashed line)";
    const drugs = meta.drugs.map((d) => `<option value="${d.name}">${d.name}</option>`).join("");
    return `<fieldset class="regimen-${r}" id="fs-${r}"><legend>${title}</legend>
      <label for="${r}-drug">Drug</label><select id="${r}-drug">${drugs}</select>
      <label for="${r}-dose">Dose</label>
      <div class="pair"><input id="${r}-dose" type="number" min="0" step="any" inputmode="decimal" aria-describedby="${r}-unit-label">
        <select id="${r}-unit" aria-label="Dose unit"><option value="mg">mg</option><option value="mg/kg">mg/kg</option></select></div>
      <span id="${r}-unit-label" hidden>dose amount in the unit chosen next to it</span>
      <label for="${r}-route">Route</label>
      <select id="${r}-route"><option value="sc">subcutaneous</option><option value="iv">intravenous</option></select>
      <label for="${r}-inf">IV infusion (h; empty: bolus)</label><input id="${r}-inf" type="number" min="0" step="any" inputmode="decimal">
      <label for="${r}-every">Every</label>
      <div class="pair"><input id="${r}-every" type="number" min="0" step="any" inputmode="decimal">
        <select id="${r}-eu" aria-label="Interval unit"><option value="h">hours</option><option value="d">days</option><option value="w">weeks</option></select></div>
      <label for="${r}-load">Loading dose (same unit)</label><input id="${r}-load" type="number" min="0" step="any" inputmode="decimal">
      <label for="${r}-missed">Missed doses (days, e.g. 10, 12)</label><input id="${r}-missed" type="text" inputmode="numeric">
      <label for="${r}-late">Late doses (day:hours, e.g. 12:6)</label><input id="${r}-late" type="text">
      <label for="${r}-stop">Stop after day</label><input id="${r}-stop" type="number" min="1" step="1" inputmode="numeric">
    </fieldset>`;
  }

  // ---------------------------------------------------------------- state <-> URL and form
  function readForm() {
    const s = {};
    for (const k of ["disease", "weight", "age", "sex", "crcl", "days"]) s[k] = $(k).value.trim();
    for (const k of ["band", "log", "cmp"]) s[k] = $(k).checked ? "1" : "";
    s.t = $("time").value === "0" ? "" : $("time").value;
    for (const r of ["a", "b"]) {
      s[r] = {};
      for (const f of FIELDS) s[r][f] = $(`${r}-${f}`).value.trim();
    }
    return s;
  }

  function writeForm(s) {
    for (const k of ["disease", "weight", "age", "sex", "crcl", "days"]) $(k).value = s[k];
    for (const k of ["band", "log", "cmp"]) $(k).checked = s[k] === "1";
    for (const r of ["a", "b"]) for (const f of FIELDS) $(`${r}-${f}`).value = s[r][f];
    showB(s.cmp === "1");
  }

  function fromUrl() {
    const q = new URLSearchParams(location.search);
    const s = {};
    for (const k in PAGE_DEFAULTS) s[k] = q.has(k) ? q.get(k) : PAGE_DEFAULTS[k];
    for (const r of ["a", "b"]) {
      s[r] = {};
      for (const f of FIELDS) s[r][f] = q.has(`${r}.${f}`) ? q.get(`${r}.${f}`) : REGIMEN_DEFAULTS[r][f];
    }
    return s;
  }

  // Only what differs from the defaults, so links stay short; B only when comparing.
  function toUrl(s) {
    const q = new URLSearchParams();
    for (const k in PAGE_DEFAULTS) if (s[k] !== PAGE_DEFAULTS[k]) q.set(k, s[k]);
    for (const r of s.cmp === "1" ? ["a", "b"] : ["a"]) {
      for (const f of FIELDS) if (s[r][f] !== REGIMEN_DEFAULTS[r][f]) q.set(`${r}.${f}`, s[r][f]);
    }
    const text = q.toString();
    return location.pathname + (text ? "?" + text : "");
  }

  function syncUrl(s) {
    const url = toUrl(s);
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
    $("link").value = location.href;
  }

  // ---------------------------------------------------------------- requests
  function dayList(text, label) {
    if (!text) return [];
    return text.split(/[\s,;]+/).filter(Boolean).map((t) => {
      if (!/^\d+$/.test(t) || Number(t) < 1) throw new Error(`${label}: '${t}' is not a day (a whole number from 1)`);
      return Number(t);
    });
  }

  function body(s, r) {
    const g = s[r];
    const num = (v) => (v === "" ? undefined : Number(v));
    const b = {
      disease: s.disease, weight: num(s.weight), age: num(s.age), sex: s.sex, crcl: num(s.crcl), days: num(s.days),
      drug: g.drug, dose: g.dose + g.unit, route: g.route, every: g.every + g.eu,
    };
    if (g.route === "iv" && g.inf !== "") b.infusion_hours = num(g.inf);
    if (g.load !== "") b.loading_dose = g.load + g.unit;
    const missed = dayList(g.missed, `Regimen ${r.toUpperCase()}, missed doses`);
    if (missed.length) b.missed_dose = missed;
    const late = g.late ? g.late.split(/[\s,;]+/).filter(Boolean) : [];
    if (late.length) b.late_dose = late;
    if (g.stop !== "") b.stop_day = num(g.stop);
    return b;
  }

  async function post(path, payload) {
    const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    const text = await res.text();
    let data;
    try { data = JSON.parse(text); } catch (e) { data = null; }
    if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
    return data;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(recompute, DEBOUNCE_MS);
  }

  async function recompute() {
    const s = readForm();
    syncUrl(s);
    updateBandNote(s);
    const mine = ++generation;
    const started = performance.now();
    const regimens = s.cmp === "1" ? ["a", "b"] : ["a"];
    const errors = [];
    let bodies;
    try {
      bodies = Object.fromEntries(regimens.map((r) => [r, body(s, r)]));
    } catch (e) {
      showErrors([e.message]);
      return;
    }
    const answers = await Promise.all(regimens.map((r) => post("/api/simulate", bodies[r]).then((d) => [r, d], (e) => [r, null, e])));
    if (mine !== generation) return; // a newer change is on its way
    results = { a: null, b: null };
    for (const [r, d, e] of answers) {
      if (e) errors.push(`Regimen ${r.toUpperCase()}: ${e.message}`);
      else results[r] = d;
    }
    showErrors(errors);
    if (s.band !== "1") bands = { a: null, b: null };
    setTimeRange(s);
    draw(s);
    const ms = performance.now() - started;
    window.il1sim.renders += 1;
    window.il1sim.timings.push(ms);
    document.body.dataset.renders = String(window.il1sim.renders);
    document.body.dataset.recomputeMs = ms.toFixed(1);
    const server = regimens.filter((r) => results[r]).map((r) => `${r.toUpperCase()} ${results[r].compute_ms.toFixed(0)} ms`).join(", ");
    $("status").textContent = errors.length ? "" : `Simulated (server: ${server}); recomputed and drawn in ${ms.toFixed(0)} ms.`;
    if (s.band === "1" && !errors.length) requestBands(s, bodies, mine);
  }

  async function requestBands(s, bodies, mine) {
    const started = performance.now();
    const regimens = Object.keys(bodies);
    $("band-note").textContent = "Computing the population band…";
    const out = {};
    const errs = [];
    for (const r of regimens) {
      try { out[r] = await post("/api/band", bodies[r]); } catch (e) { errs.push(`Band of ${r.toUpperCase()}: ${e.message}`); }
      if (mine !== generation) return;
    }
    bands = { a: out.a || null, b: out.b || null };
    const ms = performance.now() - started;
    window.il1sim.bandTimings.push(ms);
    document.body.dataset.bandMs = ms.toFixed(1);
    document.body.dataset.bands = String(window.il1sim.bandTimings.length);
    draw(s);
    const b = out.a || out.b;
    $("band-note").textContent = errs.length ? errs.join(" ") :
      `Bands: 5–95th (light) and 25–75th (dark) percentiles, median dotted; ${b.subjects} subjects of ${b.file} (their own weights, ages and renal function, seed ${b.seed}), ${b.failed} failed; ${ms.toFixed(0)} ms.`;
  }

  function updateBandNote(s) {
    const has = meta.populations.some((p) => p.disease === s.disease);
    $("band").disabled = !has;
    if (!has) $("band-note").textContent = `No shipped population for ${s.disease}; bands exist for ${meta.populations.map((p) => p.disease).join(", ")}.`;
    else if (s.band !== "1") $("band-note").textContent = `From ${meta.populations.find((p) => p.disease === s.disease).file}.`;
  }

  function showErrors(list) {
    $("errors").innerHTML = list.map((m) => `<p>${P().esc(m)}</p>`).join("");
  }

  // ---------------------------------------------------------------- drawing
  function series(data, name) { return data && data.observables.find((o) => o.name === name); }

  const TO_NG_PER_ML = { "ng/mL": 1, "ug/mL": 1000, "µg/mL": 1000, "mg/L": 1000, "pg/mL": 0.001 };

  function panels(s) {
    const regimens = ["a", "b"].filter((r) => results[r]);
    const list = [];
    // Drug concentration: one unit for all regimens (ng/mL when the drugs' units differ).
    const drugSeries = regimens.map((r) => [r, series(results[r], results[r].drug_observable)]).filter((x) => x[1]);
    const units = [...new Set(drugSeries.map((x) => x[1].unit))];
    const unit = units.length === 1 ? units[0] : "ng/mL";
    list.push({
      key: "drug", title: regimens.length > 1 && new Set(regimens.map((r) => results[r].drug)).size > 1 ? "Drug in plasma (free)" : `${results[regimens[0]].drug} in plasma (free)`,
      yLabel: unit, log: s.log === "1",
      get: (r) => {
        const o = series(results[r], results[r].drug_observable);
        if (!o) return null;
        const k = units.length === 1 ? 1 : TO_NG_PER_ML[o.unit] || 1;
        return { ys: o.values.map((v) => v * k), band: results[r].drug_observable, scale: k };
      },
    });
    const fixed = [
      ["receptor_occupancy_antagonist", "IL-1RI occupied by anakinra or IL-1Ra", "fraction"],
      ["il1_signal_relative", "IL-1 signal (relative to untreated)", "ratio"],
      ["il6_plasma", "IL-6 in plasma", "pg/mL"],
      ["crp", "CRP in plasma", "mg/L"],
      ["il1_signal_joint_relative", "IL-1 signal in the joint (relative)", "ratio"],
      ["il1_signal_cns_relative", "IL-1 signal in the CNS (relative)", "ratio"],
    ];
    for (const [name, title, u] of fixed) {
      if (!regimens.some((r) => series(results[r], name))) continue; // a site the disease lacks
      list.push({ key: name, title, yLabel: u, fraction: u === "fraction", get: (r) => { const o = series(results[r], name); return o ? { ys: o.values, band: name, scale: 1 } : null; } });
    }
    return list;
  }

  function currentHours() { return Number($("time").value); }

  function draw(s) {
    const regimens = ["a", "b"].filter((r) => results[r]);
    if (!regimens.length) { $("plots").innerHTML = ""; $("mechanisms").innerHTML = ""; $("summary").innerHTML = ""; return; }
    const days = Math.max(...regimens.map((r) => results[r].days));
    const cursor = currentHours() / 24;
    let html = "";
    for (const p of panels(s)) {
      const spec = { title: p.title, yLabel: p.yLabel, days, log: p.log, fraction: p.fraction, series: [], bands: [], doses: [], cursor };
      const labels = [];
      for (const r of regimens) {
        const got = p.get(r);
        if (!got) continue;
        const xs = results[r].times_h.map((t) => t / 24);
        spec.series.push({ color: COLOURS[r], dash: DASH[r], xs, ys: got.ys });
        const b = bands[r] && bands[r].observables.find((o) => o.name === got.band);
        if (b) spec.bands.push({ color: COLOURS[r], xs: bands[r].times_h.map((t) => t / 24), p: b.values.map((row) => row.map((v) => v * got.scale)) });
        if (p.key === "drug") spec.doses.push({ color: COLOURS[r], days: results[r].doses.map((d) => d.time_h / 24) });
        const i = indexAt(results[r], currentHours());
        labels.push(`${r.toUpperCase()} ${P().fmt(got.ys[i])} ${p.yLabel}`);
      }
      spec.ariaLabel = `${p.title} (${p.yLabel}) against time over ${days} days; at day ${P().fmt(cursor)}: ${labels.join(", ")}`;
      html += `<figure data-panel="${p.key}">${P().panel(spec)}</figure>`;
    }
    $("plots").innerHTML = html;
    drawLegend(regimens);
    drawMechanisms();
    drawSummary(regimens);
  }

  function describe(r) {
    const d = results[r];
    return `${r.toUpperCase()}: ${d.drug} ${d.regimen}`;
  }

  function drawLegend(regimens) {
    $("legend").innerHTML = regimens.map((r) =>
      `<span><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" stroke="${COLOURS[r]}" stroke-width="3"${DASH[r] ? ` stroke-dasharray="${DASH[r]}"` : ""}/></svg>${P().esc(describe(r))}</span>`).join("") +
      `<span>ticks at the foot of the drug panel: doses</span>`;
  }

  function indexAt(data, hours) {
    const ts = data.times_h;
    let lo = 0, hi = ts.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (ts[mid] < hours) lo = mid + 1; else hi = mid; }
    if (lo > 0 && Math.abs(ts[lo - 1] - hours) < Math.abs(ts[lo] - hours)) lo -= 1;
    return lo;
  }

  function drawMechanisms() {
    const regimens = ["a", "b"].filter((r) => results[r] && results[r].mechanism);
    const h = currentHours();
    $("mechanisms").innerHTML = regimens.map((r) =>
      `<figure data-mechanism="${r}">${window.Il1Mechanism.diagram(results[r], indexAt(results[r], h), describe(r))}</figure>`).join("");
    $("time-label").textContent = `day ${P().fmt(h / 24)}`;
    $("time").setAttribute("aria-valuetext", `day ${P().fmt(h / 24)}`);
  }

  // Moving the slider redraws the diagrams and moves the cursor; nothing is recomputed.
  function moveCursor() {
    const h = currentHours();
    const regimens = ["a", "b"].filter((r) => results[r]);
    if (!regimens.length) return;
    const days = Math.max(...regimens.map((r) => results[r].days));
    for (const line of document.querySelectorAll("#plots line.cursor")) {
      const x = (62 + ((460 - 62 - 12) * (h / 24)) / days).toFixed(1);
      line.setAttribute("x1", x);
      line.setAttribute("x2", x);
    }
    drawMechanisms();
    syncUrl(readForm());
  }

  function setTimeRange(s) {
    const regimens = ["a", "b"].filter((r) => results[r]);
    if (!regimens.length) return;
    const d = results[regimens[0]];
    const max = Math.max(...regimens.map((r) => results[r].days)) * 24;
    const slider = $("time");
    slider.max = String(max);
    slider.step = String(d.output_interval_h);
    const wanted = s.t === "" ? null : Number(s.t);
    if (wanted !== null && isFinite(wanted)) slider.value = String(Math.min(max, Math.max(0, wanted)));
  }

  function drawSummary(regimens) {
    const rows = [
      ["cmax", "Cmax, last interval"], ["trough", "trough"], ["auc_tau", "AUC over the last interval"], ["c_average", "average concentration"],
      ["occupancy_antagonist_trough", "IL-1RI occupancy by antagonist at trough"], ["il1_signal_relative_trough", "IL-1 signal at trough (relative)"],
      ["crp_untreated", "CRP untreated"], ["crp_day_7", "CRP day 7"], ["crp_end", "CRP at the end"],
    ];
    let html = `<table><caption>Figures of each regimen (units in each cell)</caption><thead><tr><th scope="col">Figure</th>` +
      regimens.map((r) => `<th scope="col">${P().esc(describe(r))}</th>`).join("") + `</tr></thead><tbody>`;
    for (const [key, label] of rows) {
      html += `<tr><th scope="row">${label}</th>`;
      for (const r of regimens) {
        const f = results[r].summary.figures.find((x) => x.name === key);
        html += `<td class="num">${f ? `${P().fmt(f.value)} ${P().esc(f.unit)}` : "–"}</td>`;
      }
      html += "</tr>";
    }
    $("summary").innerHTML = html + "</tbody></table>";
  }

  // ---------------------------------------------------------------- downloads and controls
  function save(name, blob) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function downloadCsv(r) {
    const s = readForm();
    try {
      const res = await fetch("/api/csv", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body(s, r)) });
      if (!res.ok) throw new Error((await res.json()).error);
      save(`il1sim-${r}.csv`, await res.blob());
    } catch (e) { showErrors([`CSV of ${r.toUpperCase()}: ${e.message}`]); }
  }

  // The panels and diagrams as one SVG: each is already self-contained (attributes only).
  function figureSvg() {
    const items = [...document.querySelectorAll("#plots svg, #mechanisms svg")];
    const cols = 2, w = 460, h = 330;
    const rows = Math.ceil(items.length / cols);
    let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * w}" height="${rows * h + 24}" viewBox="0 0 ${cols * w} ${rows * h + 24}">`;
    out += `<rect width="100%" height="100%" fill="#ffffff"/><text x="8" y="16" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">${P().esc(["a", "b"].filter((r) => results[r]).map(describe).join("; "))} — il1sim ${meta.il1sim_version}</text>`;
    items.forEach((svg, k) => {
      const vb = svg.getAttribute("viewBox").split(" ").map(Number);
      out += `<svg x="${(k % cols) * w}" y="${24 + Math.floor(k / cols) * h}" width="${w}" height="${(w * vb[3]) / vb[2]}" viewBox="${vb.join(" ")}">${svg.innerHTML}</svg>`;
    });
    return out + "</svg>";
  }

  function showB(on) {
    $("regimen-b").hidden = !on;
    $("csv-b").hidden = !on;
  }

  function togglePlay() {
    const btn = $("play");
    if (playing) { clearInterval(playing); playing = null; btn.textContent = "Play"; btn.setAttribute("aria-pressed", "false"); return; }
    const slider = $("time");
    if (Number(slider.value) >= Number(slider.max)) slider.value = "0";
    btn.textContent = "Pause";
    btn.setAttribute("aria-pressed", "true");
    playing = setInterval(() => {
      const max = Number(slider.max);
      const step = Math.max(Number(slider.step), max / 240);
      const next = Math.min(max, Number(slider.value) + step);
      slider.value = String(next);
      moveCursor();
      if (next >= max) togglePlay();
    }, 40);
  }

  function wire() {
    $("controls").addEventListener("input", (e) => {
      if (e.target.id === "link") return;
      if (e.target.id === "cmp") showB($("cmp").checked);
      schedule();
    });
    $("controls").addEventListener("submit", (e) => e.preventDefault());
    $("time").addEventListener("input", moveCursor);
    $("play").addEventListener("click", togglePlay);
    $("copy-link").addEventListener("click", async () => {
      $("link").select();
      try { await navigator.clipboard.writeText(location.href); $("status").textContent = "Link copied."; } catch (e) { $("status").textContent = "Link selected: copy it with Ctrl+C."; }
    });
    $("csv-a").addEventListener("click", () => downloadCsv("a"));
    $("csv-b").addEventListener("click", () => downloadCsv("b"));
    $("svg-figure").addEventListener("click", () => save("il1sim-figure.svg", new Blob([figureSvg()], { type: "image/svg+xml" })));
  }

  async function start() {
    if (location.pathname === "/validation") return;
    $("explorer").hidden = false;
    $("nav-explorer").setAttribute("aria-current", "page");
    meta = await (await fetch("/api/meta")).json();
    $("disease").innerHTML = meta.diseases.map((d) => `<option value="${d}">${d}</option>`).join("");
    $("regimen-a").innerHTML = regimenFieldset("a");
    $("regimen-b").innerHTML = regimenFieldset("b");
    $("days").max = String(meta.limits.days);
    writeForm(fromUrl());
    wire();
    window.il1sim.figureSvg = figureSvg;
    recompute();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
