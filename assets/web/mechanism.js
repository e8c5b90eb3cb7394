// The mechanism diagram: IL-1β, IL-1α, IL-1Ra and anakinra at the inflamed site, free or
// held by canakinumab (antibody) or rilonacept (trap), and IL-1RI in each of its states
// (free, anakinra, IL-1Ra, IL-1β or IL-1α alone or with IL-1RAcP), drawn at one output time
// of a simulation from the fractions /api/simulate returns ("mechanism"). Okabe–Ito colours;
// every glyph also has a label, so nothing depends on colour alone.
"use strict";
(function () {
  const W = 460, H = 330;
  const C = { il1b: "#D55E00", il1a: "#CC79A7", il1ra: "#009E73", anakinra: "#0072B2", antibody: "#E69F00", trap: "#56B4E9", acp: "#F0E442", receptor: "#555555" };
  const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';
  const esc = (s) => window.Il1Plot.esc(s);
  const pct = (f) => (f >= 0.995 ? "100" : f >= 0.1 ? (100 * f).toFixed(0) : f >= 0.001 ? (100 * f).toFixed(1) : (100 * f).toPrecision(1)) + "%";

  function pool(mech, key) { return mech.find((p) => p.key === key); }
  function part(p, key) { return p && p.parts.find((x) => x.key === key); }

  function ligand(kind, cx, cy, r) {
    const c = C[kind];
    if (kind === "il1b") return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${c}" stroke="#1a1a1a" stroke-width="0.8"/>`;
    if (kind === "il1a") return `<path d="M${cx},${cy - r - 1}L${cx + r + 1},${cy}L${cx},${cy + r + 1}L${cx - r - 1},${cy}Z" fill="${c}" stroke="#1a1a1a" stroke-width="0.8"/>`;
    return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${c}" stroke="#1a1a1a" stroke-width="0.8"/>`;
  }

  // A stacked bar of one pool: free form in the ligand's colour, antibody- and trap-bound.
  function bar(parts, p, label, kind, y) {
    parts.push(`<text x="8" y="${y + 13}" font-size="12" fill="#1a1a1a">${esc(label)}</text>`);
    const x0 = 112, w = 336;
    let x = x0;
    const colour = { free: C[kind], antibody: C.antibody, trap: C.trap };
    const words = { free: "free", antibody: "antibody", trap: "trap" };
    for (const seg of p.parts) {
      const f = seg.values[p.i];
      const sw = w * f;
      if (sw > 0.2) {
        parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${sw.toFixed(1)}" height="18" fill="${colour[seg.key]}"><title>${esc(seg.label)}: ${pct(f)}</title></rect>`);
        if (sw > 62) parts.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 13}" font-size="11" fill="${seg.key === "free" && kind !== "il1a" ? "#ffffff" : "#1a1a1a"}">${words[seg.key]} ${pct(f)}</text>`);
      }
      x += sw;
    }
    parts.push(`<rect x="${x0}" y="${y}" width="${w}" height="18" fill="none" stroke="#888888"/>`);
  }

  const STATES = [
    { key: "free", name: "free", lig: null },
    { key: "anakinra", name: "anakinra", lig: "anakinra" },
    { key: "il1ra", name: "IL-1Ra", lig: "il1ra" },
    { key: "il1b", name: "IL-1β", lig: "il1b" },
    { key: "il1b_acp", name: "IL-1β+AcP", lig: "il1b", acp: true },
    { key: "il1a", name: "IL-1α", lig: "il1a" },
    { key: "il1a_acp", name: "IL-1α+AcP", lig: "il1a", acp: true },
  ];

  // data: a /api/simulate response; i: the output time's index; title: the figure's title.
  function diagram(data, i, title) {
    const mech = data.mechanism;
    const obs = (name) => { const o = data.observables.find((s) => s.name === name); return o ? o.values[i] : NaN; };
    const parts = [];
    const day = data.times_h[i] / 24;
    const signal = obs("il1_signal_relative");
    const receptor = pool(mech, "receptor");
    const summary = [`Day ${window.Il1Plot.fmt(day)}.`];
    parts.push(`<text x="8" y="16" font-size="13" font-weight="bold" fill="#1a1a1a">${esc(title)} — day ${window.Il1Plot.fmt(day)}</text>`);
    // ligand pools
    const rows = [["il1b", "IL-1β"], ["il1a", "IL-1α"], ["il1ra", "IL-1Ra (own)"], ["anakinra", "anakinra"]];
    rows.forEach(([key, label], k) => {
      const p = pool(mech, key);
      if (!p) return;
      const withI = Object.assign({ i }, p);
      bar(parts, withI, label, key, 28 + 24 * k);
      summary.push(`${label}: ` + p.parts.map((x) => `${pct(x.values[i])} ${x.key}`).join(", ") + ".");
    });
    // membrane and receptors
    const mY = 222;
    parts.push(`<rect x="0" y="${mY}" width="${W}" height="12" fill="#e8e0c8" stroke="#b8a878"/>`);
    parts.push(`<text x="${W - 6}" y="${mY - 4}" font-size="10" text-anchor="end" fill="#555555">cell membrane</text>`);
    STATES.forEach((s, k) => {
      const seg = part(receptor, s.key);
      if (!seg) return;
      const f = seg.values[i];
      // Agonist-bound receptors are a tiny share: their opacity is relative to untreated.
      const agonist = s.lig === "il1b" || s.lig === "il1a";
      const level = agonist ? (seg.untreated > 0 ? Math.min(1, f / seg.untreated) : 0) : f;
      const op = (0.12 + 0.88 * level).toFixed(3);
      const x = 36 + k * 64;
      const g = [];
      g.push(`<text x="${x}" y="142" font-size="11" text-anchor="middle" fill="#1a1a1a">${esc(s.name)}</text>`);
      g.push(`<g opacity="${op}" class="receptor" data-state="${s.key}">`);
      g.push(`<rect x="${x - 4}" y="178" width="8" height="${mY + 26 - 178}" rx="2" fill="${C.receptor}"/>`);
      g.push(`<path d="M${x - 13},168 Q${x},190 ${x + 13},168" fill="none" stroke="${C.receptor}" stroke-width="5" stroke-linecap="round"/>`);
      if (s.lig) g.push(ligand(s.lig, x, 160, 8));
      if (s.acp) {
        g.push(`<rect x="${x + 11}" y="172" width="8" height="${mY + 26 - 172}" rx="2" fill="${C.acp}" stroke="#333333" stroke-width="0.8"/>`);
        g.push(`<path d="M${x + 2},${mY + 30}l5,8l-4,0l5,8" fill="none" stroke="${C.il1b}" stroke-width="2"/>`);
      }
      g.push(`<title>${esc(seg.label)}: ${pct(f)} of IL-1RI${agonist ? ` (${window.Il1Plot.fmt(level)} of untreated)` : ""}</title>`);
      g.push(`</g>`);
      g.push(`<text x="${x}" y="${mY + 60}" font-size="11" text-anchor="middle" fill="#1a1a1a">${pct(f)}</text>`);
      if (agonist) g.push(`<text x="${x}" y="${mY + 73}" font-size="10" text-anchor="middle" fill="#555555">×${window.Il1Plot.fmt(level)}</text>`);
      parts.push(g.join(""));
    });
    summary.push("IL-1RI: " + receptor.parts.map((x) => `${pct(x.values[i])} ${x.label}`).join(", ") + ".");
    // the signal, as an arrow whose opacity follows it
    const sop = (0.1 + 0.9 * Math.min(1, Math.max(0, signal))).toFixed(3);
    parts.push(`<g opacity="${sop}" class="signal"><path d="M12,${mY + 82}h300l0,-6l14,10l-14,10l0,-6h-300z" fill="${C.il1b}"/></g>`);
    const il6 = obs("il6_plasma"), crp = obs("crp");
    parts.push(`<text x="12" y="${H - 4}" font-size="11" fill="#1a1a1a">IL-1 signal ${window.Il1Plot.fmt(signal)} × untreated → IL-6 ${window.Il1Plot.fmt(il6)} pg/mL → CRP ${window.Il1Plot.fmt(crp)} mg/L</text>`);
    summary.push(`IL-1 signal ${window.Il1Plot.fmt(signal)} of untreated, IL-6 ${window.Il1Plot.fmt(il6)} pg/mL, CRP ${window.Il1Plot.fmt(crp)} mg/L.`);
    const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title + ". " + summary.join(" "))}" ${FONT}><rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`;
    return head + parts.join("") + "</svg>";
  }

  window.Il1Mechanism = { diagram, colours: C };
})();
