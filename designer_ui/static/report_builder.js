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

  const datasetSelect = h("select", { "data-testid": "rb-dataset", "data-prop": "dataset" });
  const fieldList = h("div.rb-fields", { "data-testid": "rb-fields" });
  const zones = {
    dimensions: h("div.rb-zone", { "data-zone": "dimensions", "data-testid": "rb-dimensions", "data-prop": "dimensions" }),
    measures: h("div.rb-zone", { "data-zone": "measures", "data-testid": "rb-measures", "data-prop": "measures" }),
    filters: h("div.rb-zone", { "data-zone": "filters", "data-testid": "rb-filters", "data-prop": "filters" }),
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
          h("button.small", { "data-testid": "rb-add-count", onclick: () => { model.measures.push({ agg: "count" }); changed(); } }, "+ count of rows"),
          h("button.small", { "data-testid": "rb-add-formula", title: "a measure computed from the measures above it", onclick: () => {
            let n = 1; while (model.measures.some((x) => x.key === `formula_${n}`)) n++;
            model.measures.push({ key: `formula_${n}`, expr: model.measures.map(measureKey).filter(Boolean)[0] || "0" }); changed(); } }, "+ formula")),
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
    // one group per prefix one step deeper: a relation field (supplier.*), or a name that is no field of its own
    // (parent.* of a sub-table row, record.* of a flow's history)
    const prefixes = [...new Set(fields.filter((x) => x.name.split(".").length > depth + 1).map((x) => x.name.split(".").slice(0, depth + 1).join(".")))];
    const groups = prefixes.map((name) => {
      const rel = own.find((f) => f.name === name);
      const inner = fields.filter((x) => x.name.startsWith(`${name}.`));
      const box = h("details.rb-relation", { open: openGroups.has(name), "data-testid": `rb-rel-${name}`,
        ontoggle: (ev) => { if (ev.target.open) openGroups.add(name); else openGroups.delete(name); } },
        h("summary", { "data-testid": `rb-rel-open-${name}` }, rel ? `${text(rel.label) || rel.key} → ${rel.target || ""}` : name.split(".").pop()));
      box.append(fieldGroup(name, inner));
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
      animation: 0, emptyInsertThreshold: 16, filter: "select,input,button,summary,details", preventOnFilter: false,
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
  // every control carries the definition key it edits (data-prop="measure.format"), so a test can enumerate them
  const tag = (name, el) => { el.dataset.prop = name; return el; };
  const openMore = new Set(); // "measures[1]" … whose "more" part is open
  const more = (where, testid, ...controls) => h("details.rb-more", { open: openMore.has(where), "data-testid": testid,
    ontoggle: (ev) => { if (ev.target.open) openMore.add(where); else openMore.delete(where); } }, h("summary", {}, "more"), ...controls);
  const textInput = (obj, k, testid, width = 120, onset = () => changed(false)) => h("input", { value: text(obj[k]) ?? "", "data-testid": testid, style: `width:${width}px`,
    oninput: (ev) => {
      const v = ev.target.value;
      if (v === "") delete obj[k]; else obj[k] = typeof obj[k] === "object" && obj[k] && k === "label" ? { ...obj[k], "zh-CN": v } : v;
      onset();
    } });
  const fieldOf = (entry) => (typeof entry === "string" ? entry : entry.field);
  const labelOf = (name) => (fieldsByName[name] ? text(fieldsByName[name].label) || name : name);
  const remove = (zone, i) => h("button.delete", { title: "Remove", "data-testid": `rb-remove-${zone}-${i}`, onclick: () => { model[zone].splice(i, 1); changed(); } }, "×");
  const select = (values, current, onchange, testid) => h("select", { "data-testid": testid, onchange: (ev) => onchange(ev.target.value) },
    values.map((v) => h("option", { value: v, selected: v === current }, v)));

  function dimensionChip(d, i) {
    const name = fieldOf(d);
    const f = fieldsByName[name];
    const chip = h("div.chip", { "data-testid": `rb-dimension-${i}`, "data-path": `dimensions[${i}]` }, tag("dimension.field", h("strong", {}, labelOf(name))), h("code", {}, name));
    const setOpt = (k, v, rerender = true) => {
      const obj = typeof d === "string" ? { field: d } : d;
      if (v === undefined || v === "") delete obj[k]; else obj[k] = v;
      model.dimensions[i] = Object.keys(obj).length === 1 ? obj.field : obj;
      changed(rerender);
    };
    if (f?.temporal) {
      chip.append(tag("dimension.bucket", select(["", ...rm.buckets], d.bucket || "", (v) => setOpt("bucket", v), `rb-bucket-${i}`)));
    }
    if (f?.type === "region" || d.level) {
      chip.append(tag("dimension.level", h("label.inline", {}, "by ", select(["", ...rm.levels], d.level || "", (v) => setOpt("level", v), `rb-level-${i}`))));
    }
    if (f?.numeric || d.bins) {
      const bins = h("input", { value: (d.bins || []).join(", "), placeholder: "bins: 100, 500", "data-testid": `rb-bins-${i}`, style: "width:110px" });
      bins.addEventListener("input", () => {
        const edges = bins.value.split(",").map((x) => x.trim()).filter(Boolean);
        setOpt("bins", edges.length ? edges.map((x) => (/^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x)) : undefined, false);
      });
      chip.append(tag("dimension.bins", bins));
    }
    const obj = typeof d === "string" ? { field: d } : d;
    const dimText = (k) => h("input", { value: text(obj[k]) ?? "", "data-testid": `rb-dim-${k}-${i}`, style: "width:120px", oninput: (ev) => setOpt(k, ev.target.value, false) });
    chip.append(remove("dimensions", i), more(`dimensions[${i}]`, `rb-dim-more-${i}`,
      tag("dimension.key", h("label.inline", {}, "key ", dimText("key"))), tag("dimension.label", h("label.inline", {}, "label ", dimText("label")))));
    return chip;
  }

  function measureChip(m, i) {
    const f = m.field ? fieldsByName[m.field] : null;
    const chip = h("div.chip", { "data-testid": `rb-measure-${i}`, "data-path": `measures[${i}]` });
    if (m.expr !== undefined) {
      const input = h("input.expr", { value: m.expr, "data-testid": `rb-expr-${i}`, oninput: (ev) => { m.expr = ev.target.value; changed(false); } });
      chip.append(h("code", {}, `${m.key || "?"} =`), tag("measure.expr", input));
    } else {
      chip.append(tag("measure.agg", select(aggregatesFor(f, rm.aggregates).concat(f || !m.field ? [] : [m.agg]).filter((v, k, a) => a.indexOf(v) === k), m.agg || "count", (v) => {
        m.agg = v;
        if (v === "percentile" && m.p === undefined) m.p = 0.9;
        if (v !== "percentile") delete m.p;
        changed();
      }, `rb-agg-${i}`)));
      chip.append(tag("measure.field", m.field ? h("strong", {}, labelOf(m.field)) : h("span.muted", {}, "rows")), m.field ? h("code", {}, m.field) : "");
    }
    if (m.expr === undefined) {
      if (m.agg === "percentile") {
        chip.append(h("label.inline", { "data-prop": "measure.p" }, "p ", h("input", { type: "number", step: "0.05", min: 0.05, max: 0.95, value: m.p ?? 0.9, "data-testid": `rb-p-${i}`, style: "width:70px",
          oninput: (ev) => { const p = Number(ev.target.value); if (p > 0 && p < 1) m.p = p; changed(false); } })));
      }
      chip.append(h("label.inline", { "data-prop": "measure.key" }, "key ", h("input", { value: m.key || "", placeholder: measureKey({ ...m, key: undefined }), "data-testid": `rb-measure-key-${i}`, style: "width:120px",
        oninput: (ev) => { const v = ev.target.value.trim(); if (v) m.key = v; else delete m.key; changed(false); } })));
    } else {
      chip.append(h("label.inline", { "data-prop": "measure.key" }, "key ", h("input", { value: m.key || "", "data-testid": `rb-measure-key-${i}`, style: "width:120px",
        oninput: (ev) => { const v = ev.target.value.trim(); if (v) m.key = v; else delete m.key; changed(false); } })));
    }
    chip.append(remove("measures", i));
    const optSel = (k, values, testid) => select(["", ...values], m[k] === undefined ? "" : String(m[k]), (v) => { if (v === "") delete m[k]; else m[k] = v; changed(); }, testid);
    chip.append(more(`measures[${i}]`, `rb-measure-more-${i}`,
      tag("measure.label", h("label.inline", {}, "label ", textInput(m, "label", `rb-measure-label-${i}`))),
      tag("measure.format", h("label.inline", {}, "format ", optSel("format", rm.formats, `rb-measure-format-${i}`))),
      tag("measure.scale", h("label.inline", {}, "decimals ", h("input", { type: "number", min: 0, max: 8, value: m.scale ?? "", "data-testid": `rb-measure-scale-${i}`, style: "width:60px",
        oninput: (ev) => { const n = parseInt(ev.target.value, 10); if (n >= 0 && n <= 8) m.scale = n; else delete m.scale; changed(false); } }))),
      tag("measure.compare", h("label.inline", {}, "compare with ", optSel("compare", rm.comparisons, `rb-measure-compare-${i}`))),
      tag("measure.running_total", h("label.inline", {}, h("input", { type: "checkbox", checked: !!m.running_total, "data-testid": `rb-measure-running-${i}`,
        onchange: (ev) => { if (ev.target.checked) m.running_total = true; else delete m.running_total; changed(); } }), "running total"))));
    if (m.expr !== undefined) return chip;
    // only the rows a condition matches count for this measure (a conditional aggregate)
    const only = h("div.rb-measure-filter", { "data-testid": `rb-measure-filter-${i}`, "data-path": `measures[${i}].filter`, "data-prop": "measure.filter" });
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
    chartBox.dataset.prop = "chart.type";
    const c = chartObj();
    const check = (k) => h("label.inline", { "data-prop": `chart.${k}` }, h("input", { type: "checkbox", checked: !!c[k], "data-testid": `rb-chart-${k}`, onchange: (ev) => setChartOption(k, ev.target.checked) }), k);
    const dimKeys = model.dimensions.map((d) => (typeof d === "string" ? d : d.key || (d.bucket ? `${d.field}_${d.bucket}` : d.field)).replace(/\./g, "_"));
    const measureKeys = model.measures.map(measureKey).filter(Boolean);
    const keys = [...dimKeys, ...measureKeys].filter(Boolean);
    const sortSel = (n) => h("select", { "data-testid": n ? `rb-sort-${n + 1}` : "rb-sort", onchange: (ev) => {
      const list = [...(model.sort || [])];
      if (ev.target.value) list[n] = ev.target.value; else list.splice(n);
      const clean = list.filter(Boolean);
      if (clean.length) model.sort = clean; else delete model.sort;
      changed(); } },
      h("option", { value: "" }, "—"), keys.flatMap((k) => [`-${k}`, k]).map((k) => h("option", { value: k, selected: (model.sort || [])[n] === k }, k.startsWith("-") ? `${k.slice(1)} ↓` : `${k} ↑`)));
    const limit = h("input", { type: "number", min: 1, value: model.limit ?? "", "data-testid": "rb-limit", style: "width:80px",
      oninput: (ev) => { const n = parseInt(ev.target.value, 10); if (n > 0) model.limit = n; else { delete model.limit; delete model.others; } changed(false); } });
    const chartText = (k, width = 160) => h("input", { value: text(c[k]) ?? "", "data-testid": `rb-chart-${k}`, style: `width:${width}px`,
      oninput: (ev) => { const cc = chartObj(); if (ev.target.value) cc[k] = ev.target.value; else delete cc[k]; model.chart = Object.keys(cc).length === 1 ? cc.type : cc; changed(false); } });
    const axis = (k) => h("label.inline", { "data-prop": `chart.${k}` }, `${k} `, select(["", ...measureKeys], c[k] || "", (v) => setChartOption(k, v), `rb-chart-${k}`));
    // bar, line, area, leaderboard: which measures the chart plots (y), and which go on a right-hand axis (y2)
    const asList = (v) => (Array.isArray(v) ? v : v ? [v] : []);
    const plotted = (k, label) => h("span.inline", { "data-prop": `chart.${k}` }, `${label}: `, measureKeys.map((m) => h("label.inline", {},
      h("input", { type: "checkbox", checked: asList(c[k]).includes(m), "data-testid": `rb-chart-${k}-${m}`, onchange: (ev) => {
        const cc = chartObj();
        const mine = new Set(asList(cc[k]));
        const other = k === "y" ? "y2" : "y";
        if (ev.target.checked) {
          mine.add(m);
          const rest = asList(cc[other]).filter((x) => x !== m);  // a measure sits on one axis
          if (rest.length) cc[other] = rest; else delete cc[other];
        } else mine.delete(m);
        const list = measureKeys.filter((x) => mine.has(x));
        setChartOption(k, list.length ? list : undefined);
        renderChart(); } }), m)));
    const cache = model.cache === true ? "true" : typeof model.cache === "number" ? "seconds" : "";
    const topFields = Object.values(fieldsByName).filter((f) => !f.name.includes(".") || (model.filterable || []).includes(f.name)).map((f) => f.name);
    options.replaceChildren(
      h("div.rb-option-row", {}, ["bar", "area"].includes(c.type) ? check("stacked") : "", c.type === "bar" ? check("horizontal") : "",
        c.type === "table" ? check("totals") : "",
        ["pie", "donut"].includes(c.type) ? h("label.inline", { "data-prop": "chart.hole" }, "hole ", h("input", { type: "number", min: 0, max: 0.9, step: 0.1, value: c.hole ?? "", "data-testid": "rb-chart-hole", style: "width:60px",
          oninput: (ev) => { const v = Number(ev.target.value); const cc = chartObj(); if (ev.target.value !== "" && v >= 0 && v <= 0.9) cc.hole = v; else delete cc.hole; model.chart = Object.keys(cc).length === 1 ? cc.type : cc; changed(false); } })) : "",
        c.type === "scatter" ? [axis("x"), axis("y")] : "",
        ["bar", "line", "area", "leaderboard"].includes(c.type) ? plotted("y", "plot") : "",
        ["line", "area"].includes(c.type) || (c.type === "bar" && !c.horizontal) ? plotted("y2", "right axis") : "",
        h("label.inline", { "data-prop": "chart.title" }, "chart title ", chartText("title"))),
      h("div.rb-option-row", {}, h("label.inline", { "data-prop": "key" }, "key", h("input", { value: model.key || "", "data-testid": "rb-key", style: "width:160px", oninput: (ev) => { model.key = ev.target.value; changed(false); } })),
        h("label.inline", { "data-prop": "label" }, "label", h("input", { value: text(model.label), "data-testid": "rb-label", style: "width:200px",
          oninput: (ev) => { model.label = typeof model.label === "object" && model.label ? { ...model.label, "zh-CN": ev.target.value } : ev.target.value; changed(false); } })),
        h("label.inline", { "data-prop": "description" }, "description", textInput(model, "description", "rb-description", 240))),
      h("div.rb-option-row", {}, h("label.inline", { "data-prop": "sort" }, "sort", sortSel(0), model.sort?.length ? [" then ", sortSel(1)] : ""),
        h("label.inline", { "data-prop": "limit" }, "limit", limit),
        model.limit ? h("label.inline", { "data-prop": "others" }, h("input", { type: "checkbox", checked: !!model.others, "data-testid": "rb-others",
          onchange: (ev) => { if (ev.target.checked) model.others = true; else delete model.others; changed(); } }), "gather the rest as 'others'") : "",
        h("label.inline", { "data-prop": "cache" }, "cache ", select(["", "true", "seconds"], cache, (v) => {
          if (v === "true") model.cache = true; else if (v === "seconds") model.cache = 300; else delete model.cache; changed(); }, "rb-cache"),
        typeof model.cache === "number" ? h("input", { type: "number", min: 1, max: 86400, value: model.cache, "data-testid": "rb-cache-seconds", style: "width:80px",
          oninput: (ev) => { const n = parseInt(ev.target.value, 10); if (n > 0) model.cache = n; changed(false); } }) : "")),
      h("div.rb-option-row", { "data-prop": "filterable" }, h("span.muted", {}, "viewers may also filter by: "),
        topFields.filter((n) => !model.dimensions.some((d) => (typeof d === "string" ? d : d.field) === n)).map((n) => h("label.inline", {},
          h("input", { type: "checkbox", checked: (model.filterable || []).includes(n), "data-testid": `rb-filterable-${n}`, onchange: (ev) => {
            const set = new Set(model.filterable || []);
            if (ev.target.checked) set.add(n); else set.delete(n);
            const list = topFields.filter((x) => set.has(x));
            if (list.length) model.filterable = list; else delete model.filterable;
            changed(); } }), n))));
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
