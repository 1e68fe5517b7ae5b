// The report builder: pick a dataset, drag its fields into dimensions, measures and filters, choose a chart, and
// see the report run over the published data (plotly.js) as you build it. Saves the report file as a draft.
import { debounce, get, h, post, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const MAX_DIMENSIONS = 4;
const NUMERIC_AGGS = ["sum", "avg"];
const ORDERED_AGGS = ["min", "max"];

let plotlyLoading = null;
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyLoading ||= new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "/vendor/plotly.min.js";
    s.onload = () => resolve(window.Plotly);
    s.onerror = () => { plotlyLoading = null; reject(new Error("plotly.js could not be loaded")); };
    document.head.append(s);
  });
  return plotlyLoading;
}

// the aggregates a field of this shape may use (count needs no field)
export function aggregatesFor(field, all) {
  if (!field) return ["count"];
  return all.filter((a) => a === "count" || a === "count_distinct" || (NUMERIC_AGGS.includes(a) && field.numeric)
    || (ORDERED_AGGS.includes(a) && (field.numeric || field.temporal)) || (a === "percentile" && field.numeric));
}

export function measureKey(m) {
  if (m.key) return m.key;
  if (m.expr) return "";
  return m.field ? `${m.agg}_${m.field.replace(/\./g, "_")}` : m.agg || "count";
}

export async function mountReportBuilder(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const model = file.data;
  if (!model || typeof model !== "object" || Array.isArray(model)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a report. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  for (const k of ["dimensions", "measures", "filters"]) if (!Array.isArray(model[k])) model[k] = [];
  const rm = meta.report;
  let errors = file.errors;
  let datasets = [];
  let fieldsByName = {};

  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: (e) => highlight(e.path),
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; markErrors(); };

  const datasetSelect = h("select", { "data-testid": "rb-dataset" });
  const fieldList = h("div.rb-fields", { "data-testid": "rb-fields" });
  const zones = {
    dimensions: h("div.rb-zone", { "data-zone": "dimensions", "data-testid": "rb-dimensions" }),
    measures: h("div.rb-zone", { "data-zone": "measures", "data-testid": "rb-measures" }),
    filters: h("div.rb-zone", { "data-zone": "filters", "data-testid": "rb-filters" }),
  };
  const chartBox = h("div.rb-charts", { "data-testid": "rb-charts" });
  const options = h("div.rb-options");
  const previewChart = h("div.rb-chart", { "data-testid": "rb-preview-chart" });
  const previewTable = h("div.rb-table", { "data-testid": "rb-preview-table" });
  const previewMsg = h("div.rb-message", { "data-testid": "rb-preview-message" });
  const zoneErrors = h("div.rb-errors", { "data-testid": "rb-errors" });

  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.report-builder", {},
      h("div.palette.rb-left", {}, h("h4", {}, "Dataset"), datasetSelect, h("h4", {}, "Fields — drag them right"), fieldList),
      h("div.rb-middle", {},
        h("section.rb-box", {}, h("h4", {}, "Dimensions (group by)"), zones.dimensions),
        h("section.rb-box", {}, h("h4", {}, "Measures"), zones.measures,
          h("button.small", { "data-testid": "rb-add-count", onclick: () => { model.measures.push({ agg: "count" }); changed(); } }, "+ count of rows")),
        h("section.rb-box", {}, h("h4", {}, "Filters"), zones.filters),
        h("section.rb-box", {}, h("h4", {}, "Chart"), chartBox, options),
        zoneErrors),
      h("div.rb-preview", {}, h("h4", {}, "Preview (published data)"), previewMsg, previewChart, previewTable)),
    toolbar.problems);

  // -- datasets and fields -----------------------------------------------------------------------------------
  async function loadDatasets() {
    const out = await get(`/api/designer/apps/${encodeURIComponent(app)}/datasets?without=${encodeURIComponent(path)}`);
    datasets = out.datasets;
    const groups = { form: "Forms", subtable: "Sub-table rows", flow_history: "Flow history" };
    datasetSelect.replaceChildren(...Object.entries(groups).map(([g, label]) => h("optgroup", { label },
      datasets.filter((d) => d.group === g).map((d) => h("option", { value: d.name, selected: d.name === model.dataset }, `${text(d.label)} (${d.name})`)))));
    if (!datasets.some((d) => d.name === model.dataset)) {
      datasetSelect.prepend(h("option", { value: model.dataset || "", selected: true }, `${model.dataset || "—"} (unknown)`));
    }
    renderFields();
  }
  datasetSelect.addEventListener("change", () => {
    if (datasetSelect.value === model.dataset) return;
    model.dataset = datasetSelect.value;
    model.dimensions = []; model.filters = []; model.measures = [{ agg: "count" }];
    delete model.sort; delete model.filterable;
    renderFields(); changed();
  });

  // the dataset's own fields, then a folded group per relation with the related form's fields (and its relations)
  const openGroups = new Set();
  const fieldItem = (f) => h("div.palette-item.rb-field", {
    "data-field": f.name, "data-testid": `rb-field-${f.name}`, title: `${f.name} (${f.type})`,
  }, text(f.label) || f.name.split(".").pop(), h("small", {}, `${f.name} · ${f.type}`));
  function fieldGroup(prefix, fields) {
    const depth = prefix ? prefix.split(".").length : 0;
    const own = fields.filter((f) => f.name.split(".").length === depth + 1);
    const list = h("div.rb-field-list", {}, own.map(fieldItem));
    new Sortable(list, { group: { name: "report-fields", pull: "clone", put: false }, sort: false, forceFallback: true, fallbackOnBody: true });
    const groups = own.filter((f) => fields.some((x) => x.name.startsWith(`${f.name}.`))).map((rel) => {
      const inner = fields.filter((x) => x.name.startsWith(`${rel.name}.`));
      const box = h("details.rb-relation", { open: openGroups.has(rel.name), "data-testid": `rb-rel-${rel.name}`,
        ontoggle: (ev) => { if (ev.target.open) openGroups.add(rel.name); else openGroups.delete(rel.name); } },
        h("summary", { "data-testid": `rb-rel-open-${rel.name}` }, `${text(rel.label) || rel.key} → ${rel.target || ""}`));
      box.append(fieldGroup(rel.name, inner));
      return box;
    });
    return h("div.rb-field-group", {}, list, groups);
  }
  function renderFields() {
    const ds = datasets.find((d) => d.name === model.dataset);
    fieldsByName = Object.fromEntries((ds?.fields || []).map((f) => [f.name, f]));
    fieldList.replaceChildren(fieldGroup("", ds?.fields || []));
    renderZones();
  }

  for (const [zone, el] of Object.entries(zones)) {
    new Sortable(el, {
      group: { name: "report-fields", pull: false, put: true }, forceFallback: true, fallbackOnBody: true,
      animation: 0, emptyInsertThreshold: 16, filter: "select,input,button", preventOnFilter: false,
      onAdd: (ev) => { const name = ev.item.dataset.field; ev.item.remove(); addField(zone, name, ev.newIndex); },
      onUpdate: (ev) => {
        const list = model[zone];
        const [moved] = list.splice(ev.oldIndex, 1);
        list.splice(ev.newIndex, 0, moved);
        changed();
      },
    });
  }

  function addField(zone, name, index) {
    const f = fieldsByName[name];
    if (!f) return;
    let entry;
    if (zone === "dimensions") {
      if (model.dimensions.length >= MAX_DIMENSIONS) { toolbar.status(`At most ${MAX_DIMENSIONS} dimensions`); renderZones(); return; }
      entry = f.temporal ? { field: name, bucket: "month" } : name;
    } else if (zone === "measures") {
      const aggs = aggregatesFor(f, rm.aggregates);
      entry = { agg: aggs.includes("sum") ? "sum" : "count_distinct", field: name };
    } else {
      entry = f.temporal ? { field: name, range: "this_year" } : { field: name, op: f.options?.length ? "in" : "eq", value: f.options?.length ? [f.options[0]] : "" };
    }
    model[zone].splice(Math.min(index ?? model[zone].length, model[zone].length), 0, entry);
    changed();
  }

  // -- zones --------------------------------------------------------------------------------------------------
  const fieldOf = (entry) => (typeof entry === "string" ? entry : entry.field);
  const labelOf = (name) => (fieldsByName[name] ? text(fieldsByName[name].label) || name : name);
  const remove = (zone, i) => h("button.delete", { title: "Remove", "data-testid": `rb-remove-${zone}-${i}`, onclick: () => { model[zone].splice(i, 1); changed(); } }, "×");
  const select = (values, current, onchange, testid) => h("select", { "data-testid": testid, onchange: (ev) => onchange(ev.target.value) },
    values.map((v) => h("option", { value: v, selected: v === current }, v)));

  function dimensionChip(d, i) {
    const name = fieldOf(d);
    const f = fieldsByName[name];
    const chip = h("div.chip", { "data-testid": `rb-dimension-${i}`, "data-path": `dimensions[${i}]` }, h("strong", {}, labelOf(name)), h("code", {}, name));
    const setOpt = (k, v, rerender = true) => {
      const obj = typeof d === "string" ? { field: d } : d;
      if (v === undefined || v === "") delete obj[k]; else obj[k] = v;
      model.dimensions[i] = Object.keys(obj).length === 1 ? obj.field : obj;
      changed(rerender);
    };
    if (f?.temporal) {
      chip.append(select(["", ...rm.buckets], d.bucket || "", (v) => setOpt("bucket", v), `rb-bucket-${i}`));
    }
    if (f?.type === "region" || d.level) {
      chip.append(h("label.inline", {}, "by ", select(["", ...rm.levels], d.level || "", (v) => setOpt("level", v), `rb-level-${i}`)));
    }
    if (f?.numeric || d.bins) {
      const bins = h("input", { value: (d.bins || []).join(", "), placeholder: "bins: 100, 500", "data-testid": `rb-bins-${i}`, style: "width:110px" });
      bins.addEventListener("input", () => {
        const edges = bins.value.split(",").map((x) => x.trim()).filter(Boolean);
        setOpt("bins", edges.length ? edges.map((x) => (/^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x)) : undefined, false);
      });
      chip.append(bins);
    }
    chip.append(remove("dimensions", i));
    return chip;
  }

  function measureChip(m, i) {
    const f = m.field ? fieldsByName[m.field] : null;
    const chip = h("div.chip", { "data-testid": `rb-measure-${i}`, "data-path": `measures[${i}]` });
    if (m.expr !== undefined) {
      const input = h("input.expr", { value: m.expr, "data-testid": `rb-expr-${i}`, oninput: (ev) => { m.expr = ev.target.value; changed(false); } });
      chip.append(h("code", {}, `${m.key || "?"} =`), input);
    } else {
      chip.append(select(aggregatesFor(f, rm.aggregates).concat(f || !m.field ? [] : [m.agg]).filter((v, k, a) => a.indexOf(v) === k), m.agg || "count", (v) => {
        m.agg = v;
        if (v === "percentile" && m.p === undefined) m.p = 0.9;
        if (v !== "percentile") delete m.p;
        changed();
      }, `rb-agg-${i}`));
      chip.append(m.field ? h("strong", {}, labelOf(m.field)) : h("span.muted", {}, "rows"), m.field ? h("code", {}, m.field) : "");
    }
    if (m.expr === undefined) {
      if (m.agg === "percentile") {
        chip.append(h("label.inline", {}, "p ", h("input", { type: "number", step: "0.05", min: 0.05, max: 0.95, value: m.p ?? 0.9, "data-testid": `rb-p-${i}`, style: "width:70px",
          oninput: (ev) => { const p = Number(ev.target.value); if (p > 0 && p < 1) m.p = p; changed(false); } })));
      }
      chip.append(h("label.inline", {}, "key ", h("input", { value: m.key || "", placeholder: measureKey({ ...m, key: undefined }), "data-testid": `rb-measure-key-${i}`, style: "width:120px",
        oninput: (ev) => { const v = ev.target.value.trim(); if (v) m.key = v; else delete m.key; changed(false); } })));
    } else {
      chip.append(h("small.muted", {}, ` key ${m.key || ""}`));
    }
    chip.append(remove("measures", i));
    if (m.expr !== undefined) return chip;
    // only the rows a condition matches count for this measure (a conditional aggregate)
    const only = h("div.rb-measure-filter", { "data-testid": `rb-measure-filter-${i}`, "data-path": `measures[${i}].filter` });
    if (m.filter === undefined) {
      only.append(h("button.small", { "data-testid": `rb-measure-filter-add-${i}`, onclick: () => {
        const first = Object.values(fieldsByName).find((x) => x.groupable && !x.name.includes(".") && x.options?.length) || Object.values(fieldsByName)[0];
        m.filter = first?.temporal ? { field: first.name, range: "this_year" }
          : { field: first?.name || "id", op: first?.options?.length ? "in" : "eq", value: first?.options?.length ? [first.options[0]] : "" };
        if (!m.key) m.key = `${measureKey({ ...m, key: undefined })}_where`;
        changed();
      } }, "+ only rows where…"));
    } else if (typeof m.filter === "string") {
      only.append(h("span.muted", {}, "only rows where "), h("input.expr", { value: m.filter, "data-testid": `rb-mfilter-expr-${i}`, oninput: (ev) => { m.filter = ev.target.value; changed(false); } }),
        h("button.delete", { title: "Count every row", "data-testid": `rb-mfilter-remove-${i}`, onclick: () => { delete m.filter; changed(); } }, "×"));
    } else {
      const fieldSel = h("select", { "data-testid": `rb-mfilter-field-${i}`, onchange: (ev) => {
        const nf = fieldsByName[ev.target.value];
        m.filter = nf?.temporal ? { field: ev.target.value, range: "this_year" } : { field: ev.target.value, op: nf?.options?.length ? "in" : "eq", value: nf?.options?.length ? [nf.options[0]] : "" };
        changed();
      } }, [...new Set([m.filter.field, ...Object.keys(fieldsByName)])].map((n) => h("option", { value: n, selected: n === m.filter.field }, n)));
      only.append(h("span.muted", {}, "only rows where "), fieldSel, ...conditionParts(m.filter, (k) => `rb-mfilter-${k}-${i}`),
        h("button.delete", { title: "Count every row", "data-testid": `rb-mfilter-remove-${i}`, onclick: () => { delete m.filter; changed(); } }, "×"));
    }
    chip.append(only);
    return chip;
  }

  // the operator / range / "current" controls and the value of one condition (a filter, or a measure's filter)
  function conditionParts(flt, id) {
    const f = fieldsByName[flt.field];
    const parts = [];
    const mode = flt.range !== undefined ? "range" : flt.current !== undefined ? "current" : "op";
    if (mode === "range") {
      parts.push(select(rm.ranges, flt.range, (v) => { flt.range = v; changed(); }, id("range")));
    } else if (mode === "current") {
      parts.push(select(["user", "department", "department_tree"], flt.current, (v) => { flt.current = v; changed(); }, id("current")));
    } else {
      parts.push(select(rm.ops, flt.op || "eq", (v) => {
        const many = ["in", "not_in"].includes(v);
        flt.op = v;
        if (["blank", "not_blank"].includes(v)) delete flt.value;
        else if (many && !Array.isArray(flt.value)) flt.value = flt.value === undefined || flt.value === "" ? [] : [flt.value];
        else if (!many && Array.isArray(flt.value)) flt.value = flt.value[0] ?? "";
        changed();
      }, id("op")));
      if (!["blank", "not_blank"].includes(flt.op)) {
        const many = ["in", "not_in"].includes(flt.op);
        const shown = Array.isArray(flt.value) ? flt.value.join(", ") : flt.value ?? "";
        const input = h("input", { value: shown, "data-testid": id("value"), placeholder: many ? "a, b, c" : "value",
          list: f?.options?.length ? id("opts") : undefined });
        input.addEventListener("input", () => {
          const typed = (s) => (f?.numeric && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : f?.type === "boolean" && /^(true|false)$/.test(s) ? s === "true" : s);
          flt.value = many ? input.value.split(",").map((s) => s.trim()).filter(Boolean).map(typed) : typed(input.value.trim());
          changed(false);
        });
        parts.push(input, f?.options?.length ? h("datalist", { id: id("opts") }, f.options.map((o) => h("option", { value: o }))) : "");
      }
    }
    return parts;
  }

  function filterChip(flt, i) {
    const chip = h("div.chip", { "data-testid": `rb-filter-${i}`, "data-path": `filters[${i}]` });
    if (typeof flt === "string") {
      chip.append(h("input.expr", { value: flt, "data-testid": `rb-filter-expr-${i}`, oninput: (ev) => { model.filters[i] = ev.target.value; changed(false); } }));
      chip.append(remove("filters", i));
      return chip;
    }
    chip.append(h("strong", {}, labelOf(flt.field)), h("code", {}, flt.field), ...conditionParts(flt, (k) => `rb-${k}-${i}`));
    chip.append(remove("filters", i));
    return chip;
  }

  function renderZones() {
    zones.dimensions.replaceChildren(...model.dimensions.map(dimensionChip));
    zones.measures.replaceChildren(...model.measures.map(measureChip));
    zones.filters.replaceChildren(...model.filters.map(filterChip));
    renderChart();
    markErrors();
  }

  // -- chart and options --------------------------------------------------------------------------------------
  const chartType = () => (typeof model.chart === "string" ? model.chart : model.chart?.type || "table");
  const chartObj = () => (typeof model.chart === "object" && model.chart ? model.chart : { type: chartType() });
  function setChartOption(k, v) {
    const c = chartObj();
    if (v === undefined || v === false || v === "") delete c[k]; else c[k] = v;
    model.chart = Object.keys(c).length === 1 ? c.type : c;
    changed();
  }
  function renderChart() {
    chartBox.replaceChildren(...rm.charts.map((t) => h(`button.chart-type${t === chartType() ? ".active" : ""}`, {
      "data-testid": `rb-chart-${t}`, onclick: () => { setChartOption("type", t); renderChart(); },
    }, t)));
    const c = chartObj();
    const check = (k) => h("label.inline", {}, h("input", { type: "checkbox", checked: !!c[k], "data-testid": `rb-chart-${k}`, onchange: (ev) => setChartOption(k, ev.target.checked) }), k);
    const keys = [...model.dimensions.map((d) => (typeof d === "string" ? d : d.key || (d.bucket ? `${d.field}_${d.bucket}` : d.field)).replace(/\./g, "_")),
      ...model.measures.map(measureKey)].filter(Boolean);
    const sortSel = h("select", { "data-testid": "rb-sort", onchange: (ev) => { if (ev.target.value) model.sort = [ev.target.value]; else delete model.sort; changed(); } },
      h("option", { value: "" }, "—"), keys.flatMap((k) => [`-${k}`, k]).map((k) => h("option", { value: k, selected: (model.sort || [])[0] === k }, k.startsWith("-") ? `${k.slice(1)} ↓` : `${k} ↑`)));
    const limit = h("input", { type: "number", min: 1, value: model.limit ?? "", "data-testid": "rb-limit", style: "width:80px",
      oninput: (ev) => { const n = parseInt(ev.target.value, 10); if (n > 0) model.limit = n; else delete model.limit; changed(false); } });
    options.replaceChildren(
      h("div.rb-option-row", {}, ["bar", "area"].includes(c.type) ? check("stacked") : "", c.type === "bar" ? check("horizontal") : "",
        c.type === "table" ? check("totals") : ""),
      h("div.rb-option-row", {}, h("label.inline", {}, "key", h("input", { value: model.key || "", "data-testid": "rb-key", style: "width:160px", oninput: (ev) => { model.key = ev.target.value; changed(false); } })),
        h("label.inline", {}, "label", h("input", { value: text(model.label), "data-testid": "rb-label", style: "width:200px",
          oninput: (ev) => { model.label = typeof model.label === "object" && model.label ? { ...model.label, "zh-CN": ev.target.value } : ev.target.value; changed(false); } }))),
      h("div.rb-option-row", {}, h("label.inline", {}, "sort", sortSel), h("label.inline", {}, "limit", limit)));
  }

  // -- errors -------------------------------------------------------------------------------------------------
  function markErrors() {
    for (const el of root.querySelectorAll(".chip.has-error")) el.classList.remove("has-error");
    const mine = errors.filter((e) => e.file === path);
    for (const e of mine) {
      const m = (e.path || "").match(/^(dimensions|measures|filters)\[(\d+)\]/);
      const chip = m && zones[m[1]].querySelector(`[data-path="${m[1]}[${m[2]}]"]`);
      if (chip) { chip.classList.add("has-error"); chip.title = `${e.message}${e.hint ? ` (${e.hint})` : ""}`; }
    }
    datasetSelect.classList.toggle("invalid", mine.some((e) => e.path === "dataset"));
    zoneErrors.replaceChildren(...mine.map((e) => h("div.card-error", { "data-path": e.path }, `${e.path || "report"}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`)));
    toolbar.showErrors(errors);
  }
  function highlight(p) {
    const m = (p || "").match(/^(dimensions|measures|filters)\[(\d+)\]/);
    const chip = m && zones[m[1]].querySelector(`[data-path="${m[1]}[${m[2]}]"]`);
    if (chip) { chip.scrollIntoView({ block: "nearest" }); chip.classList.add("flash"); setTimeout(() => chip.classList.remove("flash"), 800); }
  }

  // -- preview ------------------------------------------------------------------------------------------------
  let previewSeq = 0;
  async function runPreview() {
    const seq = ++previewSeq;
    previewMsg.textContent = "Running…";
    let out;
    try {
      out = await post(`/api/designer/apps/${encodeURIComponent(app)}/report-preview`, { path, data: model });
    } catch (err) { if (seq === previewSeq) previewMsg.textContent = err.message; return; }
    if (seq !== previewSeq) return;
    if (!out.result) {
      previewMsg.textContent = out.message || "The report does not check yet.";
      if (out.errors?.length) previewMsg.append(h("ul", {}, out.errors.map((e) => h("li.error", {}, `${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`))));
      previewChart.replaceChildren(); previewTable.replaceChildren();
      return;
    }
    const r = out.result;
    previewMsg.textContent = `${r.rows.length} row(s)`;
    previewTable.replaceChildren(resultTable(r));
    if (r.figure && !["table", "pivot"].includes(r.chart?.type)) {
      try {
        const Plotly = await loadPlotly();
        if (seq !== previewSeq) return;
        previewChart.hidden = false;
        await Plotly.react(previewChart, r.figure.data, { ...(r.figure.layout || {}), autosize: true, height: 320, margin: { t: 30, l: 50, r: 10, b: 40 } },
          { displayModeBar: false, responsive: true });
      } catch (err) { previewMsg.textContent = err.message; }
    } else {
      previewChart.hidden = true;
    }
  }

  // a change of the model: typed text keeps its input (no re-render), anything else redraws the zones
  const changed = (rerender = true) => {
    session.dirty = true;
    toolbar.status("Unsaved changes");
    if (rerender) renderZones();
    live();
  };
  const live = debounce(async () => {
    try {
      const out = await session.check({ data: model });
      errors = out.errors;
      markErrors();
    } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
    runPreview();
  }, 350);

  async function save() {
    const saved = await session.save({ data: model });
    if (saved) { errors = saved.errors; markErrors(); }
  }

  await loadDatasets();
  toolbar.showErrors(errors);
  markErrors();
  runPreview();
  session.watch();
}

export function resultTable(r) {
  const cols = r.columns;
  const cell = (row, c) => (c.role === "dimension" ? row[`${c.key}__label`] ?? row[c.key] : row[c.key]);
  return h("table.rb-result", {}, h("tr", {}, cols.map((c) => h("th", {}, c.label || c.key))),
    r.rows.slice(0, 200).map((row) => h("tr", {}, cols.map((c) => h("td", {}, cell(row, c) ?? "")))),
    r.totals ? h("tr.totals", {}, cols.map((c) => h("td", {}, c.role === "dimension" ? "" : r.totals[c.key] ?? ""))) : "");
}
