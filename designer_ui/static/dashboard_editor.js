// The dashboard editor: the app's reports in a palette, dragged onto a 12-column grid; widgets are moved by their
// title bar and resized by their corner, snapping to the grid, and show their report's data (published data, narrowed
// by the shared filters' defaults); the side panel edits the selected widget, or the dashboard and its shared filters.
import { debounce, get, h, post, text } from "./api.js";
import { loadPlotly, resultTable } from "./report_builder.js";
import { FileSession, Toolbar } from "./session.js";

export const COLUMNS = 12;
const ROW = 56; // px per grid row in the editor
const NEW_W = 6;
const NEW_H = 4;
const CLICKS = ["", "drill", "filter", "zoom"];

export function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function clampWidget(w) {
  w.w = Math.max(1, Math.min(COLUMNS, Math.round(w.w)));
  w.h = Math.max(1, Math.min(24, Math.round(w.h))); // the schema's maximum
  w.x = Math.max(0, Math.min(COLUMNS - w.w, Math.round(w.x)));
  w.y = Math.max(0, Math.round(w.y));
  return w;
}

export async function mountDashboardEditor(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const model = file.data;
  if (!model || typeof model !== "object" || Array.isArray(model)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a dashboard. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  if (!Array.isArray(model.widgets)) model.widgets = [];
  let errors = file.errors;
  let selected = null;
  let reports = [];
  let datasets = {}; // dataset name → {name, label, group, fields}
  const rm = meta.report;

  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: (e) => { const m = (e.path || "").match(/^widgets\[(\d+)\]/); if (m) { selected = model.widgets[Number(m[1])] || null; render(); } },
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; render(); };

  const palette = h("div.palette.db-palette", { "data-testid": "db-palette" });
  const grid = h("div.db-grid", { "data-testid": "db-grid" });
  const panel = h("div.panel", { "data-testid": "db-properties" });
  const warn = h("div.db-warn", { "data-testid": "db-warn" });
  const previewNote = h("div.db-preview-note.muted", { "data-testid": "db-preview-note" });
  warn.append(previewNote); // there from the start: the grid does not move when the first data arrive
  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.dashboard-editor", {}, palette, h("div.center", {}, warn, grid), panel), toolbar.problems);

  const changed = () => { session.dirty = true; toolbar.status("Unsaved changes"); render(); liveCheck(); refreshPreviews(); };
  // typed text: no redraw (the input keeps its caret), the check and the previews follow
  const typed = () => { session.dirty = true; toolbar.status("Unsaved changes"); liveCheck(); refreshPreviews(); };
  const liveCheck = debounce(async () => {
    try { errors = (await session.check({ data: model })).errors; render(); } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);

  // -- live data: every widget run over the published data with the shared filters' defaults ------------------
  const previews = new Map(); // widget object → {el, plot, size}
  function previewOf(w) {
    if (!previews.has(w)) previews.set(w, { el: h("div.db-preview", { "data-state": "loading" }, h("span.muted", {}, "loading data…")), plot: null, size: "" });
    return previews.get(w);
  }
  let previewSeq = 0;
  const refreshPreviews = debounce(async () => {
    const seq = ++previewSeq;
    let out;
    try {
      out = await post(`/api/designer/apps/${encodeURIComponent(app)}/dashboard-preview`, { path, data: model });
    } catch (err) { if (seq === previewSeq) previewNote.textContent = `Preview failed: ${err.message}`; return; }
    if (seq !== previewSeq) return;
    const applied = Object.entries(out.filters || {}).map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(", ") : v}`);
    previewNote.textContent = out.message || (out.errors?.length ? "The dashboard does not check yet: widgets show their data without the shared filters."
      : `Published data${applied.length ? `, filtered by ${applied.join("; ")}` : ""}.`);
    for (const entry of out.widgets || []) {
      const w = model.widgets[entry.index];
      if (w && w.report === entry.report) await drawPreview(w, entry, seq);
    }
  }, 500);
  async function drawPreview(w, entry, seq) {
    const p = previewOf(w);
    p.plot = null;
    p.el.dataset.state = "ready";
    if (!entry.result) { p.el.replaceChildren(h("span.muted.db-preview-message", {}, entry.message || "no data")); return; }
    const r = entry.result;
    p.el.dataset.rows = String(r.rows.length);
    const type = r.chart?.type;
    if (r.figure && !["table", "pivot"].includes(type)) {
      const plot = h("div.db-plot");
      p.el.replaceChildren(plot);
      try {
        const Plotly = await loadPlotly();
        if (seq !== previewSeq) return;
        await Plotly.react(plot, r.figure.data, { ...(r.figure.layout || {}), autosize: true, showlegend: false,
          margin: { t: 8, l: 36, r: 8, b: 28 } }, { displayModeBar: false, responsive: true, staticPlot: true });
        p.plot = plot;
        p.size = `${w.w}x${w.h}`;
      } catch (err) { p.el.replaceChildren(h("span.error", {}, err.message)); }
    } else {
      p.el.replaceChildren(resultTable(r));
    }
  }
  async function save() {
    const saved = await session.save({ data: model });
    if (saved) { errors = saved.errors; render(); }
  }

  // -- geometry -----------------------------------------------------------------------------------------------
  const colWidth = () => grid.clientWidth / COLUMNS;
  const cellAt = (clientX, clientY) => {
    const box = grid.getBoundingClientRect();
    return { x: Math.floor((clientX - box.left) / colWidth()), y: Math.floor((clientY - box.top) / ROW), inside:
      clientX >= box.left && clientX <= box.right && clientY >= box.top && clientY <= box.bottom };
  };
  function place(el, w) {
    el.style.left = `${w.x * colWidth()}px`;
    el.style.top = `${w.y * ROW}px`;
    el.style.width = `${w.w * colWidth() - 6}px`;
    el.style.height = `${w.h * ROW - 6}px`;
  }

  // press on an element, follow the pointer, snap to the grid; `apply(dxCells, dyCells)` previews, `done` commits
  let dragging = false; // a check that comes back mid-drag must not redraw the widget under the pointer
  function track(ev, apply, done) {
    ev.preventDefault();
    ev.stopPropagation();
    dragging = true;
    const sx = ev.clientX, sy = ev.clientY;
    const move = (e) => apply(Math.round((e.clientX - sx) / colWidth()), Math.round((e.clientY - sy) / ROW), e);
    const up = (e) => {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      dragging = false;
      done(Math.round((e.clientX - sx) / colWidth()), Math.round((e.clientY - sy) / ROW), e);
    };
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  }

  // -- palette ------------------------------------------------------------------------------------------------
  function renderPalette() {
    palette.replaceChildren(h("h4", {}, "Reports — drag onto the grid"), ...reports.map((r) => {
      const item = h("div.palette-item.db-report", { "data-report": r.key, "data-testid": `db-report-${r.key}`, title: r.path },
        text(r.label) || r.key, h("small", {}, r.key));
      item.addEventListener("mousedown", (ev) => {
        const ghost = h("div.db-ghost", {}, r.key);
        document.body.append(ghost);
        const follow = (e) => { ghost.style.left = `${e.clientX + 8}px`; ghost.style.top = `${e.clientY + 8}px`; };
        follow(ev);
        track(ev, (_dx, _dy, e) => follow(e), (_dx, _dy, e) => {
          ghost.remove();
          const at = cellAt(e.clientX, e.clientY);
          if (!at.inside) return;
          const w = clampWidget({ report: r.key, x: at.x, y: at.y, w: NEW_W, h: NEW_H });
          model.widgets.push(w);
          selected = w;
          changed();
        });
      });
      return item;
    }));
  }

  // -- grid ---------------------------------------------------------------------------------------------------
  function render() {
    if (dragging) return;
    const focused = document.activeElement?.dataset?.testid;
    const caret = focused && document.activeElement.selectionStart !== undefined ? [document.activeElement.selectionStart, document.activeElement.selectionEnd] : null;
    const rows = Math.max(8, ...model.widgets.map((w) => (w.y || 0) + (w.h || 1) + 3));
    grid.style.height = `${rows * ROW}px`;
    grid.style.backgroundSize = `${colWidth()}px ${ROW}px`;
    const mine = errors.filter((e) => e.file === path);
    const clash = new Set();
    model.widgets.forEach((a, i) => model.widgets.forEach((b, j) => { if (i < j && overlaps(a, b)) { clash.add(a); clash.add(b); } }));
    grid.replaceChildren(...model.widgets.map((w, i) => {
      const report = reports.find((r) => r.key === w.report);
      const errs = mine.filter((e) => (e.path || "").startsWith(`widgets[${i}]`));
      const el = h(`div.db-widget${w === selected ? ".selected" : ""}${errs.length ? ".has-error" : ""}${clash.has(w) ? ".overlap" : ""}`,
        { "data-testid": `db-widget-${i}`, "data-report": w.report, onmousedown: () => { if (selected !== w) { selected = w; render(); } } });
      const handle = h("div.db-handle", { "data-testid": `db-move-${i}`, title: "drag to move" },
        h("strong", {}, text(w.title) || text(report?.label) || w.report), " ", h("code", {}, w.report),
        h("button.delete", { "data-testid": `db-remove-${i}`, title: "Remove widget", onmousedown: (ev) => ev.stopPropagation(),
          onclick: () => { model.widgets.splice(i, 1); if (selected === w) selected = null; changed(); } }, "×"));
      const sizer = h("div.db-resize", { "data-testid": `db-resize-${i}`, title: "drag to resize" });
      const body = h("div.db-body", {}, h("span.muted.db-geo", {}, `${w.w}×${w.h} at (${w.x}, ${w.y})`), report ? "" : h("span.error", {}, " unknown report"),
        ...errs.map((e) => h("div.card-error", {}, `${e.path}: ${e.message}`)), previewOf(w).el);
      el.append(handle, body, sizer);
      place(el, w);
      handle.addEventListener("mousedown", (ev) => {
        selected = w;
        el.classList.add("dragging");
        track(ev, (dx, dy) => place(el, clampWidget({ ...w, x: w.x + dx, y: w.y + dy })), (dx, dy) => {
          if (dx || dy) { Object.assign(w, clampWidget({ ...w, x: w.x + dx, y: w.y + dy })); changed(); } else render();
        });
      });
      sizer.addEventListener("mousedown", (ev) => {
        selected = w;
        track(ev, (dx, dy) => place(el, clampWidget({ ...w, w: w.w + dx, h: w.h + dy })), (dx, dy) => {
          if (dx || dy) { Object.assign(w, clampWidget({ ...w, w: w.w + dx, h: w.h + dy })); changed(); } else render();
        });
      });
      return el;
    }));
    warn.replaceChildren(clash.size ? h("div.banner.warn", {}, `${clash.size} widgets overlap; move them apart`) : "", previewNote);
    renderPanel();
    toolbar.showErrors(errors);
    if (focused) {
      const again = root.querySelector(`[data-testid="${focused}"]`);
      if (again && again !== document.activeElement) { again.focus(); if (caret && again.setSelectionRange) try { again.setSelectionRange(...caret); } catch (_) { /* not a text input */ } }
    }
    for (const [w, p] of previews) {
      if (!model.widgets.includes(w)) { previews.delete(w); continue; }
      if (p.plot && p.size !== `${w.w}x${w.h}` && window.Plotly) { p.size = `${w.w}x${w.h}`; window.Plotly.Plots.resize(p.plot); }
    }
  }

  // -- shared filters -----------------------------------------------------------------------------------------
  // a filter names form.field: the forms offered are the widgets' dataset forms and the forms their relations reach
  const fieldInfo = (name) => {
    const [form, ...rest] = (name || "").split(".");
    return datasets[form]?.fields.find((f) => f.name === rest.join(".")) || null;
  };
  function filterForms() {
    const out = [];
    const add = (form, depth) => {
      if (!datasets[form] || datasets[form].group !== "form" || out.includes(form)) return;
      out.push(form);
      if (depth > 0) for (const f of datasets[form].fields) if (f.target && !f.name.includes(".")) add(f.target, depth - 1);
    };
    for (const w of model.widgets) {
      const ds = reports.find((r) => r.key === w.report)?.dataset || "";
      if (!ds.startsWith("flow_history:")) add(ds.split(".")[0], 3);
    }
    for (const f of model.filters || []) add((f.field || "").split(".")[0], 0);
    return out;
  }
  const openMaps = new WeakSet(); // filters whose "field per report" list is open
  const filterable = (f) => !f.name.includes(".") && f.groupable && f.type !== "id";
  function fieldPicker(flt, i) {
    const forms = filterForms();
    const known = forms.some((form) => `${form}.` === (flt.field || "").slice(0, form.length + 1));
    return h("select", { "data-testid": `db-filter-field-${i}`, onchange: (ev) => {
      flt.field = ev.target.value;
      delete flt.default; delete flt.parent_field;
      if (!fieldInfo(flt.field) || !fieldInfo(flt.field).temporal) delete flt.multi;
      changed();
    } },
    known || !flt.field ? "" : h("option", { value: flt.field, selected: true }, `${flt.field} (not offered)`),
    forms.map((form) => h("optgroup", { label: `${text(datasets[form].label) || form} (${form})` },
      datasets[form].fields.filter(filterable).map((f) => h("option", { value: `${form}.${f.name}`, selected: flt.field === `${form}.${f.name}` },
        `${text(f.label) || f.name} · ${form}.${f.name}`)))));
  }
  function defaultEditor(flt, i, info, multi) {
    const fixed = flt.default && typeof flt.default === "object" && !Array.isArray(flt.default) ? flt.default : null;
    const current = flt.default === undefined || fixed ? [] : Array.isArray(flt.default) ? flt.default.map(String) : [String(flt.default)];
    const store = (values) => {
      if (!values.length) delete flt.default;
      else flt.default = multi ? values : values[0];
    };
    if (info?.temporal || fixed) {
      // a date filter: no default, a period relative to today (this_month …) or fixed dates {from, to} (both included)
      const mode = fixed ? "dates" : current.length ? "range" : "";
      const modeSel = h("select", { "data-testid": `db-filter-default-mode-${i}`, onchange: (ev) => {
        const m = ev.target.value;
        if (!m) delete flt.default;
        else if (m === "range") store([rm.ranges.includes("this_month") ? "this_month" : rm.ranges[0]]);
        else flt.default = { from: new Date().toISOString().slice(0, 10) };
        changed(); } },
        [["", "— (no default)"], ["range", "a period (relative to today)"], ["dates", "fixed dates"]].map(([v, l]) => h("option", { value: v, selected: v === mode }, l)));
      if (mode === "range") {
        return h("span.db-default-dates", {}, modeSel, h("select", { "data-testid": `db-filter-default-${i}`, onchange: (ev) => { store(ev.target.value ? [ev.target.value] : []); changed(); } },
          [...new Set([...rm.ranges, ...current])].map((r) => h("option", { value: r, selected: current[0] === r }, r))),
          current.length > 1 ? h("small.muted", {}, ` (${current.slice(1).join(", ")} too)`) : "");
      }
      if (mode === "dates") {
        const day = (end) => h("input", { type: "date", value: fixed[end] ?? "", "data-testid": `db-filter-default-${end}-${i}`, onchange: (ev) => {
          const next = { ...(flt.default && typeof flt.default === "object" && !Array.isArray(flt.default) ? flt.default : {}) };
          if (ev.target.value) next[end] = ev.target.value; else delete next[end];
          if (Object.keys(next).length) flt.default = { ...(next.from ? { from: next.from } : {}), ...(next.to ? { to: next.to } : {}) };
          else delete flt.default;
          typed(); } });
        return h("span.db-default-dates", {}, modeSel, " from ", day("from"), " to ", day("to"), h("small.muted", {}, " (both included; leave one empty for an open end)"));
      }
      return modeSel;
    }
    if (info?.options?.length) {
      if (!multi) {
        return h("select", { "data-testid": `db-filter-default-${i}`, onchange: (ev) => { store(ev.target.value ? [ev.target.value] : []); changed(); } },
          h("option", { value: "" }, "— (no default)"), info.options.map((o) => h("option", { value: String(o), selected: current[0] === String(o) }, String(o))));
      }
      const chosen = new Set(current);
      return h("div.checks", { "data-testid": `db-filter-default-${i}` }, info.options.map((o) => h("label.inline", {},
        h("input", { type: "checkbox", checked: chosen.has(String(o)), "data-testid": `db-filter-default-${i}-${o}`, onchange: (ev) => {
          if (ev.target.checked) chosen.add(String(o)); else chosen.delete(String(o));
          store(info.options.map(String).filter((v) => chosen.has(v)).concat([...chosen].filter((v) => !info.options.map(String).includes(v))));
          changed();
        } }), String(o))));
    }
    return h("input", { value: current.join(", "), "data-testid": `db-filter-default-${i}`, placeholder: multi ? "a, b, c" : "value",
      oninput: (ev) => { store(ev.target.value.split(",").map((x) => x.trim()).filter(Boolean)); typed(); } });
  }
  function filterCard(flt, i) {
    const info = fieldInfo(flt.field);
    const multi = flt.multi ?? !info?.temporal;
    const form = (flt.field || "").split(".")[0];
    const earlier = model.filters.slice(0, i).map((f) => f.key).filter(Boolean);
    const errs = errors.filter((e) => e.file === path && ((e.path || "") === `filters[${i}]` || (e.path || "").startsWith(`filters[${i}].`)));
    const row = (label, el) => h("label", {}, label, el);
    const widgetsReports = [...new Set(model.widgets.map((w) => w.report).filter(Boolean))];
    if (flt.fields && typeof flt.fields !== "object") delete flt.fields;
    return h(`div.db-filter${errs.length ? ".has-error" : ""}`, { "data-testid": `db-filter-${i}`, "data-path": `filters[${i}]` },
      h("div.db-filter-head", {}, h("strong", {}, text(flt.label) || flt.key || `filter ${i + 1}`),
        h("button.delete", { title: "Remove filter", "data-testid": `db-filter-remove-${i}`, onclick: () => {
          model.filters.splice(i, 1);
          for (const f of model.filters) if (f.depends_on === flt.key) { delete f.depends_on; delete f.parent_field; }
          if (!model.filters.length) delete model.filters;
          changed();
        } }, "×")),
      row("key", h("input", { value: flt.key || "", "data-testid": `db-filter-key-${i}`, oninput: (ev) => { flt.key = ev.target.value.trim(); typed(); } })),
      row("label", h("input", { value: text(flt.label), "data-testid": `db-filter-label-${i}`, oninput: (ev) => {
        const v = ev.target.value;
        if (!v) delete flt.label; else flt.label = typeof flt.label === "object" && flt.label ? { ...flt.label, "zh-CN": v } : v;
        typed(); } })),
      row("field (form.field)", fieldPicker(flt, i)),
      h("label.inline", {}, h("input", { type: "checkbox", checked: multi, "data-testid": `db-filter-multi-${i}`, onchange: (ev) => {
        const on = ev.target.checked;
        if (on === !info?.temporal) delete flt.multi; else flt.multi = on;
        if (!on && Array.isArray(flt.default)) { if (flt.default.length) flt.default = String(flt.default[0]); else delete flt.default; }
        if (on && typeof flt.default === "string" && !info?.temporal) flt.default = [flt.default];
        changed(); } }), "several values (multi-select)"),
      row(info?.temporal ? "default range" : "default value(s)", defaultEditor(flt, i, info, multi)),
      row("linked to (parent filter)", h("select", { "data-testid": `db-filter-depends-${i}`, onchange: (ev) => {
        if (ev.target.value) flt.depends_on = ev.target.value; else { delete flt.depends_on; delete flt.parent_field; }
        changed(); } }, h("option", { value: "" }, "— none"),
        [...new Set([...earlier, ...(flt.depends_on && !earlier.includes(flt.depends_on) ? [flt.depends_on] : [])])].map((k) => h("option", { value: k, selected: k === flt.depends_on }, k)))),
      flt.depends_on ? row(`parent field (of ${form}, matched by the parent's values)`, h("select", { "data-testid": `db-filter-parent-${i}`, onchange: (ev) => {
        if (ev.target.value) flt.parent_field = ev.target.value; else delete flt.parent_field; changed(); } },
        h("option", { value: "" }, "— same field as the parent"),
        (datasets[form]?.fields || []).filter(filterable).map((f) => h("option", { value: f.name, selected: f.name === flt.parent_field }, f.name)))) : "",
      widgetsReports.length ? h("details.db-filter-map", { open: openMaps.has(flt) || !!(flt.fields && Object.keys(flt.fields).length) || errs.some((e) => (e.hint || "").includes("fields")),
        ontoggle: (ev) => { if (ev.target.open) openMaps.add(flt); else openMaps.delete(flt); } },
        h("summary", { "data-testid": `db-filter-map-toggle-${i}` }, "field per report (automatic when empty)"),
        widgetsReports.map((rk) => row(rk, h("input", { value: flt.fields?.[rk] || "", placeholder: "automatic", "data-testid": `db-filter-map-${i}-${rk}`,
          oninput: (ev) => {
            const v = ev.target.value.trim();
            const m = { ...(flt.fields || {}) };
            if (v) m[rk] = v; else delete m[rk];
            if (Object.keys(m).length) flt.fields = m; else delete flt.fields;
            typed(); } })))) : "",
      h("div.db-filter-errors", {}, errs.map((e) => h("div.card-error", {}, `${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`))));
  }
  function filtersEditor() {
    const list = Array.isArray(model.filters) ? model.filters : [];
    return h("section.db-filters", { "data-testid": "db-filters" }, h("h4", {}, "Shared filters"),
      list.map(filterCard),
      h("button.small", { "data-testid": "db-filter-add", onclick: () => {
        const forms = filterForms();
        const first = forms.flatMap((form) => (datasets[form]?.fields || []).filter(filterable).map((f) => `${form}.${f.name}`))[0];
        let n = 1;
        while (list.some((f) => f.key === `filter_${n}`)) n++;
        model.filters = [...list, { key: `filter_${n}`, field: first || "" }];
        changed();
      } }, "+ shared filter"));
  }

  function renderPanel() {
    if (!selected || !model.widgets.includes(selected)) {
      selected = null;
      panel.replaceChildren(h("h3", {}, "Dashboard"),
        h("label", {}, "key", h("input", { value: model.key || "", "data-testid": "db-key", oninput: (ev) => { model.key = ev.target.value; typed(); } })),
        h("label", {}, "label", h("input", { value: text(model.label), "data-testid": "db-label", oninput: (ev) => {
          model.label = typeof model.label === "object" && model.label ? { ...model.label, "zh-CN": ev.target.value } : ev.target.value; typed(); } })),
        h("label", {}, "description", h("input", { value: text(model.description), "data-testid": "db-description", oninput: (ev) => {
          const v = ev.target.value;
          if (!v) delete model.description; else model.description = typeof model.description === "object" && model.description ? { ...model.description, "zh-CN": v } : v;
          typed(); } })),
        h("label", {}, "refresh (seconds)", h("input", { type: "number", min: 10, value: model.refresh ?? "", "data-testid": "db-refresh", oninput: (ev) => {
          const n = parseInt(ev.target.value, 10); if (n > 0) model.refresh = n; else delete model.refresh; typed(); } })),
        h("label.inline", {}, h("input", { type: "checkbox", checked: !!model.home, "data-testid": "db-home", onchange: (ev) => {
          if (ev.target.checked) model.home = true; else delete model.home; changed(); } }), "home: its number cards are KPIs on the portal's home page"),
        filtersEditor(),
        h("p.muted", {}, "Select a widget to edit it."));
      return;
    }
    const w = selected;
    const num = (k, min, max) => h("input", { type: "number", min, max, value: w[k], "data-testid": `db-prop-${k}`,
      onchange: (ev) => { w[k] = Number(ev.target.value); clampWidget(w); changed(); } });
    panel.replaceChildren(h("h3", {}, "Widget"),
      h("label", {}, "report", h("select", { "data-testid": "db-prop-report", onchange: (ev) => { w.report = ev.target.value; changed(); } },
        reports.map((r) => h("option", { value: r.key, selected: r.key === w.report }, r.key)))),
      h("label", {}, "title", h("input", { value: text(w.title), "data-testid": "db-prop-title", oninput: (ev) => {
        if (ev.target.value) w.title = ev.target.value; else delete w.title; session.dirty = true; liveCheck(); } })),
      h("label", {}, "click", h("select", { "data-testid": "db-prop-click", onchange: (ev) => { if (ev.target.value) w.click = ev.target.value; else delete w.click; changed(); } },
        CLICKS.map((c) => h("option", { value: c, selected: (w.click || "") === c }, c || "default (drill)")))),
      h("div.db-geometry", {}, h("label", {}, "x", num("x", 0, 11)), h("label", {}, "y", num("y", 0, 200)),
        h("label", {}, "w", num("w", 1, 12)), h("label", {}, "h", num("h", 1, 24))),
      h("button", { onclick: () => { selected = null; render(); } }, "dashboard properties"));
  }

  const { files } = await get(`/api/designer/apps/${encodeURIComponent(app)}/files`);
  reports = files.filter((f) => f.kind === "report").map((f) => ({ key: f.key, label: f.label, path: f.path, dataset: f.dataset }));
  try {
    const out = await get(`/api/designer/apps/${encodeURIComponent(app)}/datasets?without=${encodeURIComponent(path)}`);
    datasets = Object.fromEntries(out.datasets.map((d) => [d.name, d]));
  } catch (_) { /* the field picker then offers what the filters already name */ }
  renderPalette();
  render();
  refreshPreviews();
  new ResizeObserver(debounce(() => render(), 100)).observe(grid);
  session.watch();
}
