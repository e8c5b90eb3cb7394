// Time-course panels as SVG strings: axes with round ticks (linear or log), lines, percentile
// bands, dose marks and a time cursor. Written for il1sim (a few hundred lines do what the
// page needs; no plotting library is loaded). Every style is an attribute, so a panel copied
// out of the page (the figure download) looks the same anywhere.
"use strict";
(function () {
  const W = 460, H = 250, M = { l: 62, r: 12, t: 26, b: 44 };
  const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';

  function esc(s) {
    return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }

  // Three significant digits, no trailing zeros; exponent form outside 1e-3..1e6.
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a < 1e-3 || a >= 1e6) return v.toExponential(2).replace(/\.?0+e/, "e");
    return String(Number(v.toPrecision(3)));
  }

  function niceStep(span, n) {
    const raw = span / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function linearTicks(lo, hi, n) {
    const step = niceStep(hi - lo || 1, n);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // x: days; y: the panel's unit. spec = { title, yLabel, days, log, series: [{ color, dash,
  // width, xs (days), ys }], bands: [{ color, xs, p: [p05, p25, p50, p75, p95] }],
  // doses: [{ color, days: [...] }], cursor (days), ariaLabel }.
  function panel(spec) {
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    let ymin = Infinity, ymax = -Infinity;
    const consider = (v) => { if (isFinite(v) && (!spec.log || v > 0)) { ymin = Math.min(ymin, v); ymax = Math.max(ymax, v); } };
    for (const s of spec.series) s.ys.forEach(consider);
    for (const b of spec.bands || []) { b.p[0].forEach(consider); b.p[4].forEach(consider); }
    if (!isFinite(ymax)) { ymin = 0; ymax = 1; }
    let y, ticks;
    if (spec.log) {
      ymin = Math.max(ymin, ymax / 1e5);
      let lo = Math.floor(Math.log10(ymin)), hi = Math.ceil(Math.log10(ymax));
      if (hi === lo) hi = lo + 1;
      y = (v) => M.t + ph * (1 - (Math.log10(Math.max(v, Math.pow(10, lo))) - lo) / (hi - lo));
      ticks = [];
      const every = Math.max(1, Math.ceil((hi - lo) / 5));
      for (let e = lo; e <= hi; e += every) ticks.push(Math.pow(10, e));
    } else {
      const lo = Math.min(0, ymin);
      let hi = ymax > lo ? ymax * 1.05 : lo + 1;
      if (spec.fraction) hi = Math.max(hi, 0.0001);
      ticks = linearTicks(lo, hi, 5);
      hi = Math.max(hi, ticks[ticks.length - 1]);
      y = (v) => M.t + ph * (1 - (v - lo) / (hi - lo));
    }
    const x = (d) => M.l + (pw * d) / spec.days;
    const parts = [];
    parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(spec.ariaLabel || spec.title)}" ${FONT}>`);
    parts.push(`<title>${esc(spec.title)}</title>`);
    parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
    parts.push(`<text x="${M.l}" y="16" font-size="13" font-weight="bold" fill="#1a1a1a">${esc(spec.title)}</text>`);
    // grid and y ticks
    for (const t of ticks) {
      const yy = y(t).toFixed(1);
      parts.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${yy}" y2="${yy}" stroke="#dddddd" stroke-width="1"/>`);
      parts.push(`<text x="${M.l - 5}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#333333">${fmt(t)}</text>`);
    }
    const xt = linearTicks(0, spec.days, 6);
    for (const t of xt) {
      const xx = x(t).toFixed(1);
      parts.push(`<line x1="${xx}" x2="${xx}" y1="${M.t + ph}" y2="${M.t + ph + 4}" stroke="#333333"/>`);
      parts.push(`<text x="${xx}" y="${M.t + ph + 16}" font-size="11" text-anchor="middle" fill="#333333">${fmt(t)}</text>`);
    }
    parts.push(`<text x="${M.l + pw / 2}" y="${H - 4}" font-size="11" text-anchor="middle" fill="#333333">time (days)</text>`);
    parts.push(`<text transform="translate(12 ${M.t + ph / 2}) rotate(-90)" font-size="11" text-anchor="middle" fill="#333333">${esc(spec.yLabel)}</text>`);
    parts.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#888888"/>`);
    // bands: 5–95 and 25–75 as areas, the median dotted
    for (const b of spec.bands || []) {
      const area = (lo, hi, op) => {
        let d = "";
        for (let i = 0; i < b.xs.length; i++) d += (i ? "L" : "M") + x(b.xs[i]).toFixed(1) + "," + y(hi[i]).toFixed(1);
        for (let i = b.xs.length - 1; i >= 0; i--) d += "L" + x(b.xs[i]).toFixed(1) + "," + y(lo[i]).toFixed(1);
        parts.push(`<path d="${d}Z" fill="${b.color}" fill-opacity="${op}" stroke="none"/>`);
      };
      area(b.p[0], b.p[4], 0.15);
      area(b.p[1], b.p[3], 0.3);
      let d = "";
      for (let i = 0; i < b.xs.length; i++) d += (i ? "L" : "M") + x(b.xs[i]).toFixed(1) + "," + y(b.p[2][i]).toFixed(1);
      parts.push(`<path d="${d}" fill="none" stroke="${b.color}" stroke-width="1.2" stroke-dasharray="1 3"/>`);
    }
    for (const s of spec.series) {
      let d = "";
      for (let i = 0; i < s.xs.length; i++) {
        if (!isFinite(s.ys[i])) continue;
        d += (d ? "L" : "M") + x(s.xs[i]).toFixed(1) + "," + y(s.ys[i]).toFixed(1);
      }
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width || 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} stroke-linejoin="round"/>`);
    }
    (spec.doses || []).forEach((dm, k) => {
      const y0 = M.t + ph - 2 - 6 * k;
      let d = "";
      for (const t of dm.days) d += `M${x(t).toFixed(1)},${y0}v-5`;
      if (d) parts.push(`<path d="${d}" stroke="${dm.color}" stroke-width="1.5"/>`);
    });
    if (spec.cursor !== undefined && spec.cursor !== null) {
      const cx = x(spec.cursor).toFixed(1);
      parts.push(`<line class="cursor" x1="${cx}" x2="${cx}" y1="${M.t}" y2="${M.t + ph}" stroke="#000000" stroke-width="1" stroke-dasharray="3 3"/>`);
    }
    parts.push("</svg>");
    return parts.join("");
  }

  window.Il1Plot = { panel, fmt, esc, W, H };
})();
