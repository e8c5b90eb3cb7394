// The validation page: /api/validation, polled while the targets run, as a table.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let table = null;

  function render() {
    const esc = window.Il1Plot.esc, fmt = window.Il1Plot.fmt;
    const role = $("role-filter").value;
    const rows = table.rows.filter((r) => !role || r.role === role);
    $("validation-table").querySelector("tbody").innerHTML = rows.map((r) => {
      const model = r.model === null ? `error: ${esc(r.error || "")}` : `${fmt(r.model)} ${esc(r.unit)}`;
      const why = r.known_failure ? `<br><small>known failure: ${esc(r.known_failure)}</small>` : "";
      return `<tr><td><code>${esc(r.id)}</code><br><small>${esc(r.group)}</small></td><td>${esc(r.role)}</td><td>${esc(r.quantity)}</td>` +
        `<td>${esc(r.published)} ${esc(r.unit)}<br><small>${esc(r.tolerance_basis)}</small></td><td class="num">${model}</td>` +
        `<td class="status-${esc(r.status)}">${esc(r.status)}${why}</td><td><small>${esc(r.source)}</small></td></tr>`;
    }).join("");
    const head = `${table.rows.length} of ${table.total} targets run: ${table.passed} passed, ${table.failed} failed, ${table.known} known failure${table.known === 1 ? "" : "s"}`;
    $("validation-status").textContent = table.complete ? head + "." : head + "; the rest are running…";
    document.body.dataset.validationRows = String(table.rows.length);
  }

  async function poll() {
    try {
      const res = await fetch("/api/validation");
      table = await res.json();
      if (!res.ok) throw new Error(table.error);
      render();
      if (!table.complete) setTimeout(poll, 1000);
    } catch (e) {
      $("validation-status").textContent = `Cannot load the validation table: ${e.message}`;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (location.pathname !== "/validation") return;
    $("validation").hidden = false;
    $("nav-validation").setAttribute("aria-current", "page");
    $("role-filter").addEventListener("change", () => table && render());
    poll();
  });
})();
