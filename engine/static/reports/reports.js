/* Loomwork report pages: draws a dashboard's (or one report's) widgets with plotly.js, keeps the shared filters,
   drills down, cross-filters, zooms a date bucket, refreshes, and formats numbers and dates for the page's language.
   Every figure comes from the report API; nothing is computed here but the presentation. */
(function () {
  "use strict";
  var bootEl = document.getElementById("rd-boot");
  if (!bootEl) { return; }
  var boot = JSON.parse(bootEl.textContent);
  var lang = boot.lang || lw.lang || "zh-CN";
  var T = boot.texts || {};
  var app = boot.app;
  var values = Object.assign({}, boot.values || {});   /* filter key → chosen value(s) */
  var zooms = {};                                         /* widget index → {dimension: bucket label} */
  var entries = {};                                       /* widget index → the widget as last run */
  var loading = 0;

  /* -- formatting ------------------------------------------------------------------------------------------ */
  function numberFormat(opts) {
    try { return new Intl.NumberFormat(lang, opts); } catch (e) { return new Intl.NumberFormat("en", opts); }
  }
  function fmtValue(value, col) {
    if (value === null || value === undefined || value === "") { return "–"; }
    var n = Number(value);
    if (!isFinite(n)) { return String(value); }
    var scale = col && typeof col.scale === "number" ? col.scale : 2;
    var fmt = col ? col.format : "number";
    if (fmt === "money") {
      return numberFormat({style: "currency", currency: boot.currency || "CNY", minimumFractionDigits: scale,
                           maximumFractionDigits: scale}).format(n);
    }
    if (fmt === "percent") {  /* a fraction at `scale` places: 0.1234 at 4 is 12.34 % (as the chart and the export) */
      var places = Math.max(scale - 2, 0);
      return numberFormat({style: "percent", minimumFractionDigits: places, maximumFractionDigits: places}).format(n);
    }
    if (fmt === "integer") { return numberFormat({maximumFractionDigits: 0}).format(n); }
    return numberFormat({maximumFractionDigits: Math.max(0, scale)}).format(n);
  }
  function fmtBucket(label, bucket) {
    if (label === null || label === undefined) { return ""; }
    var s = String(label), m;
    try {
      if ((bucket === "day" || bucket === "week") && (m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s))) {
        return new Intl.DateTimeFormat(lang, {year: "numeric", month: "short", day: "numeric"})
          .format(new Date(+m[1], +m[2] - 1, +m[3]));
      }
      if (bucket === "month" && (m = /^(\d{4})-(\d{2})$/.exec(s))) {
        return new Intl.DateTimeFormat(lang, {year: "numeric", month: "short"}).format(new Date(+m[1], +m[2] - 1, 1));
      }
      if (bucket === "quarter" && (m = /^(\d{4})-Q(\d)$/.exec(s))) {
        return lang.indexOf("zh") === 0 ? m[1] + "年第" + m[2] + "季度" : "Q" + m[2] + " " + m[1];
      }
      if (bucket === "year" && /^\d{4}$/.test(s) && lang.indexOf("zh") === 0) { return s + "年"; }
    } catch (e) { /* an unknown locale: the label as it came */ }
    return s;
  }
  function columnsOf(result, role) { return result.columns.filter(function (c) { return c.role === role; }); }
  function dimText(row, col) {
    var label = row[col.key + "__label"];
    return col.bucket ? fmtBucket(label, col.bucket) : (label === null || label === undefined ? "" : String(label));
  }

  /* -- addresses ------------------------------------------------------------------------------------------- */
  function qs(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== undefined && params[k] !== null; })
      .map(function (k) {
        var v = params[k];
        return encodeURIComponent(k) + "=" + encodeURIComponent(typeof v === "object" ? JSON.stringify(v) : String(v));
      }).join("&");
  }
  function runParams(index) {
    var p = {};
    if (boot.mode === "dashboard") { p.dashboard = boot.dashboard; p.dashboard_filters = values; }
    else if (boot.params) { Object.keys(boot.params).forEach(function (k) { p[k] = boot.params[k]; }); }
    if (zooms[index]) { p.zoom = zooms[index]; }
    return p;
  }
  function reportBase(entry) { return "/api/apps/" + encodeURIComponent(app) + "/reports/" + encodeURIComponent(entry.report); }
  function exportUrl(entry, fmt) { return reportBase(entry) + "/export?" + qs(Object.assign({format: fmt}, runParams(entry.index))); }
  function drillUrl(entry, point, label, measure) {
    var p = runParams(entry.index);
    p.point = point;
    if (measure) { p.measure = measure; }
    if (label) { p.label = label; }
    return "/apps/" + encodeURIComponent(app) + "/reports/" + encodeURIComponent(entry.report) + "/records?" + qs(p);
  }

  /* -- clicks: drill down, cross-filter, zoom ---------------------------------------------------------------- */
  function onPoint(entry, dimValues, label, isOther) {
    var result = entry.result;
    if (!result || isOther) { return; }
    var dims = result.dimensions;
    if (entry.click === "filter") {
      var dim = dims.filter(function (d) { return entry.cross_filter && entry.cross_filter[d]; })[0];
      if (dim !== undefined) {
        var key = entry.cross_filter[dim];
        setFilter(key, [dimValues[dims.indexOf(dim)]]);
        return;
      }
    }
    if (entry.click === "zoom") {
      var zoomDim = dims.filter(function (d) { return result.zoom && result.zoom[d]; })[0];
      /* a date bucket zooms once (then a click drills); a region zooms on: province → city → district */
      var again = zoomDim !== undefined && (result.zoom[zoomDim] === "city" || result.zoom[zoomDim] === "district");
      if (zoomDim !== undefined && (!zooms[entry.index] || again) && dimValues[dims.indexOf(zoomDim)] !== null) {
        zooms[entry.index] = {};
        zooms[entry.index][zoomDim] = dimValues[dims.indexOf(zoomDim)];
        rerun(entry.index);
        return;
      }
    }
    if (!result.drill) { return; }
    var point = {};
    dims.forEach(function (d, i) { point[d] = dimValues[i]; });
    /* a funnel whose stages are measures: its points carry the measure key (the stage's own filter applies) */
    var stage = !dims.length && result.chart && result.chart.type === "funnel" && dimValues ? dimValues[0] : null;
    window.location.href = drillUrl(entry, point, label, stage);
  }

  /* -- drawing ----------------------------------------------------------------------------------------------- */
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function box(index) { return document.querySelector('[data-widget="' + index + '"]'); }

  function draw(entry) {
    entries[entry.index] = entry;
    var section = box(entry.index);
    if (!section) { return; }
    var body = section.querySelector("[data-body]");
    if (window.Plotly && body.querySelector(".js-plotly-plot")) { Plotly.purge(body.querySelector(".js-plotly-plot")); }
    body.textContent = "";
    section.querySelector("[data-zoom-out]").hidden = !zooms[entry.index];
    var exports = section.querySelector("[data-exports]");
    if (entry.error) {
      exports.hidden = true;
      var refused = entry.error.code === "forbidden" || entry.error.status === 403;
      section.setAttribute("data-state", refused ? "refused" : "error");
      body.appendChild(el("p", {"class": refused ? "rd-refused" : "rd-failed", role: "status"},
                          refused ? T.refused : (T.failed + (entry.error.message ? ": " + entry.error.message : ""))));
      return;
    }
    var result = entry.result;
    exports.hidden = false;
    section.querySelector('[data-export="xlsx"]').href = exportUrl(entry, "xlsx");
    section.querySelector('[data-export="csv"]').href = exportUrl(entry, "csv");
    section.setAttribute("data-chart", result.chart.type);
    section.classList.toggle("rd-clickable", !!result.drill || entry.click !== "drill");
    var kind = result.chart.type;
    if (kind === "number") { drawNumber(body, entry); }
    else if (kind === "table") { body.appendChild(table(entry, true)); }
    else if (kind === "pivot") { drawPivot(body, entry); }
    else if (!result.rows.length) { body.appendChild(el("p", {"class": "rd-failed"}, T.no_data)); }
    else { drawPlot(body, entry); }
    if (boot.mode === "report") {
      var holder = document.querySelector("[data-rd-datatable]");
      if (holder) { holder.textContent = ""; holder.appendChild(table(entry, false)); }
    }
    section.setAttribute("data-state", "ready");
  }

  function drawNumber(body, entry) {
    var result = entry.result, m = columnsOf(result, "measure")[0], row = result.rows[0] || {};
    var card = el("div", {"class": "rd-number", "data-number": ""});
    card.appendChild(el("span", {"class": "rd-number-value", "data-value": row[m.key] === undefined ? "" : String(row[m.key])},
                        fmtValue(row[m.key], m)));
    var previous = result.columns.filter(function (c) { return c.key === m.key + "__previous"; })[0];
    var change = row[m.key + "__change"];
    if (previous) {
      var line = el("span", {"class": "rd-change"});
      if (change !== null && change !== undefined) {
        var n = Number(change);
        line.className += n > 0 ? " rd-up" : n < 0 ? " rd-down" : "";
        line.appendChild(el("span", {"data-change": String(change)},
                            (n > 0 ? "▲ +" : n < 0 ? "▼ " : "■ ") + fmtValue(change, {format: "percent", scale: 3})));
        line.appendChild(document.createTextNode(" "));
      }
      var against = previous.compare === "same_period_last_year" ? T.vs_last_year : T.vs_previous;
      line.appendChild(el("span", {"class": "lw-meta"}, against + " " + fmtValue(row[previous.key], m)));
      card.appendChild(line);
    }
    card.addEventListener("click", function () { onPoint(entry, [], m.label, false); });
    body.appendChild(card);
  }

  function table(entry, clickable) {
    var result = entry.result, cols = result.columns.filter(function (c) { return c.role !== "label"; });
    var dims = columnsOf(result, "dimension");
    var t = el("table", {"class": "rd-table"});
    var head = el("tr");
    cols.forEach(function (c) { head.appendChild(el("th", c.role === "dimension" ? {} : {"class": "rd-num"}, c.label)); });
    t.appendChild(el("thead")).appendChild(head);
    var tbody = t.appendChild(el("tbody"));
    result.rows.forEach(function (row) {
      var tr = el("tr");
      cols.forEach(function (c) {
        tr.appendChild(c.role === "dimension" ? el("td", {}, dimText(row, c)) : el("td", {"class": "rd-num"}, fmtValue(row[c.key], c)));
      });
      if (clickable && result.drill && !row._other) {
        var point = dims.map(function (d) { return row[d.key]; });
        tr.setAttribute("data-point", JSON.stringify(point));
        tr.addEventListener("click", function () {
          onPoint(entry, point, dims.map(function (d) { return dimText(row, d); }).join(" · "), false);
        });
      }
      tbody.appendChild(tr);
    });
    if (result.totals) {
      var total = el("tr", {"class": "rd-total", "data-total": ""});
      cols.forEach(function (c, i) {
        total.appendChild(c.role === "dimension" ? el("td", {}, i === 0 ? T.total : "")
                                                 : el("td", {"class": "rd-num"}, fmtValue(result.totals[c.key], c)));
      });
      tbody.appendChild(total);
    }
    var wrap = el("div", {"class": "lw-scroll"});
    wrap.appendChild(t);
    return wrap;
  }

  function drawPivot(body, entry) {
    var result = entry.result, dims = columnsOf(result, "dimension"), m = columnsOf(result, "measure")[0];
    var rowKeys = [], colKeys = [], rowText = {}, colText = {}, cells = {};
    result.rows.forEach(function (r) {
      var a = JSON.stringify(r[dims[0].key]), b = JSON.stringify(r[dims[1].key]);
      if (rowKeys.indexOf(a) < 0) { rowKeys.push(a); rowText[a] = dimText(r, dims[0]); }
      if (colKeys.indexOf(b) < 0) { colKeys.push(b); colText[b] = dimText(r, dims[1]); }
      cells[a + "\u0000" + b] = r;
    });
    var t = el("table", {"class": "rd-table"});
    var head = el("tr");
    head.appendChild(el("th", {}, dims[0].label + " \\ " + dims[1].label));
    colKeys.forEach(function (b) { head.appendChild(el("th", {"class": "rd-num"}, colText[b])); });
    t.appendChild(el("thead")).appendChild(head);
    var tbody = t.appendChild(el("tbody"));
    rowKeys.forEach(function (a) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, rowText[a]));
      colKeys.forEach(function (b) {
        var r = cells[a + "\u0000" + b];
        var td = el("td", {"class": "rd-num"}, r ? fmtValue(r[m.key], m) : "");
        if (r && result.drill) {
          td.style.cursor = "pointer";
          td.addEventListener("click", function () {
            onPoint(entry, [r[dims[0].key], r[dims[1].key]], rowText[a] + " · " + colText[b], false);
          });
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    var wrap = el("div", {"class": "lw-scroll"});
    wrap.appendChild(t);
    body.appendChild(wrap);
  }

  function drawPlot(body, entry) {
    var result = entry.result, figure = result.figure || {data: [], layout: {}};
    var dims = columnsOf(result, "dimension"), first = dims[0];
    var horizontal = result.chart.horizontal || result.chart.type === "leaderboard";
    var data = figure.data.map(function (trace) {
      var copy = Object.assign({}, trace);
      if (first && first.bucket) {  /* date buckets in the reader's language (customdata keeps the values) */
        var axis = horizontal ? "y" : "x";
        if (Array.isArray(copy[axis]) && copy.type !== "pie") { copy[axis] = copy[axis].map(function (v) { return fmtBucket(v, first.bucket); }); }
        if (copy.type === "pie" && Array.isArray(copy.labels)) { copy.labels = copy.labels.map(function (v) { return fmtBucket(v, first.bucket); }); }
      }
      return copy;
    });
    var layout = Object.assign({}, figure.layout, {title: undefined, autosize: true,
      margin: Object.assign({l: 48, r: 12, t: 12, b: 36}, result.chart.type === "map" ? {l: 4, r: 4} : {})});
    var m = columnsOf(result, "measure")[0];
    if (m && m.format === "money") {
      var symbol = fmtValue(0, {format: "money", scale: 0}).replace(/[\d\s.,\u00a0]/g, "");
      var valueAxis = horizontal ? "xaxis" : "yaxis";
      if (layout[valueAxis]) { layout[valueAxis] = Object.assign({}, layout[valueAxis], {tickprefix: symbol}); }
    }
    ["xaxis", "yaxis"].forEach(function (axis) {
      if (layout[axis] && layout[axis].visible !== false) { layout[axis] = Object.assign({}, layout[axis], {automargin: true}); }
    });
    var plot = el("div", {"class": "rd-plot"});
    body.appendChild(plot);
    Plotly.newPlot(plot, data, layout, {responsive: true, displaylogo: false, displayModeBar: false});
    var otherLabel = null;
    result.rows.forEach(function (r) { if (r._other && first) { otherLabel = dimText(r, first); } });
    plot.on("plotly_click", function (ev) {
      var p = ev && ev.points && ev.points[0];
      if (!p || !Array.isArray(p.customdata)) { return; }
      var label = p.label !== undefined ? p.label : (horizontal ? p.y : p.x);
      var text = String(label === undefined ? "" : label).replace(/^\d+\. /, "");
      onPoint(entry, p.customdata, text, otherLabel !== null && text === otherLabel);
    });
  }

  /* -- running ----------------------------------------------------------------------------------------------- */
  function busy(delta) {
    loading += delta;
    document.body.classList.toggle("rd-loading", loading > 0);
  }
  function failure(r) {
    var e = (r.data && r.data.error) || {};
    return {code: e.code || "error", status: r.status, message: e.message || String(r.status)};
  }

  function rerun(index) {
    var entry = entries[index];
    busy(1);
    return lw.api("POST", reportBase(entry) + "/run", runParams(index)).then(function (r) {
      draw(Object.assign({}, entry, r.ok ? {result: r.data, error: undefined} : {error: failure(r)}));
    }).finally(function () { busy(-1); });
  }

  function refresh() {
    if (boot.mode !== "dashboard") { return rerun(0); }
    busy(1);
    var url = "/api/apps/" + encodeURIComponent(app) + "/dashboards/" + encodeURIComponent(boot.dashboard);
    return lw.api("POST", url, {filters: values}).then(function (r) {
      if (!r.ok) {
        Object.keys(entries).forEach(function (i) { draw(Object.assign({}, entries[i], {error: failure(r)})); });
        return;
      }
      var pending = [];
      r.data.widgets.forEach(function (w) {
        if (zooms[w.index]) { entries[w.index] = w; pending.push(rerun(w.index)); } else { draw(w); }
      });
      return Promise.all(pending);
    }).finally(function () {
      busy(-1);
      if (window.history && history.replaceState) {
        history.replaceState(null, "", window.location.pathname + "?" + qs({filters: values}));
      }
    });
  }

  /* -- filters ----------------------------------------------------------------------------------------------- */
  function filterBox(key) { return document.querySelector('[data-filter="' + key + '"]'); }
  function children(key) { return boot.filters.filter(function (f) { return f.depends_on === key; }); }

  function chosen(key) {
    var node = filterBox(key);
    return Array.prototype.map.call(node.querySelectorAll("input:checked"), function (i) { return JSON.parse(i.getAttribute("data-value")); });
  }
  function summarise(key) {
    var node = filterBox(key);
    var summary = node && node.querySelector("[data-summary]");
    if (!summary) { return; }
    var names = Array.prototype.map.call(node.querySelectorAll("input:checked"), function (i) { return i.parentNode.textContent.trim(); });
    summary.textContent = names.length ? names.join(", ") : T.all;
  }
  function setOptions(key, options) {
    var f = boot.filters.filter(function (x) { return x.key === key; })[0];
    var node = filterBox(key), list = node.querySelector("[data-options]");
    var keep = (Array.isArray(values[key]) ? values[key] : []).map(function (v) { return JSON.stringify(v); });
    list.textContent = "";
    options.forEach(function (o) {
      var label = el("label", {"class": "rd-option"});
      var input = el("input", {type: f.multi ? "checkbox" : "radio", name: "rd-" + key, "data-value": JSON.stringify(o.value)});
      input.checked = keep.indexOf(JSON.stringify(o.value)) >= 0;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(el("span", {}, o.label));
      list.appendChild(label);
    });
    values[key] = chosen(key);  /* values the parent no longer allows are dropped */
    summarise(key);
  }
  function reloadChildren(key) {
    return Promise.all(children(key).map(function (child) {
      var url = "/api/apps/" + encodeURIComponent(app) + "/dashboards/" + encodeURIComponent(boot.dashboard) +
        "/filters/" + encodeURIComponent(child.key) + "/options";
      var parent = values[key];
      if (Array.isArray(parent) && parent.length) { url += "?" + qs({parent: parent}); }
      return lw.api("GET", url).then(function (r) {
        setOptions(child.key, r.ok ? r.data.options : []);
        return reloadChildren(child.key);
      });
    }));
  }
  /* a date filter's choice: a range name, or fixed dates ({"from", "to"} as JSON, from a dashboard's default) */
  function rangeValue(v) {
    if (!v) { return []; }
    if (v.charAt(0) === "{") { try { return JSON.parse(v); } catch (e) { return []; } }
    return v;
  }
  function setFilter(key, value) {
    var node = filterBox(key);
    if (!node) { return; }
    var select = node.querySelector("[data-range]");
    if (select) { select.value = value || ""; values[key] = value || []; }
    else {
      var wanted = (value || []).map(function (v) { return JSON.stringify(v); });
      node.querySelectorAll("input").forEach(function (i) { i.checked = wanted.indexOf(i.getAttribute("data-value")) >= 0; });
      values[key] = chosen(key);
      summarise(key);
    }
    reloadChildren(key).then(refresh);
  }

  var form = document.querySelector("[data-rd-filters]");
  if (form) {
    boot.filters.forEach(function (f) { summarise(f.key); });
    form.addEventListener("change", function (ev) {
      var node = ev.target.closest("[data-filter]");
      if (!node) { return; }
      var key = node.getAttribute("data-filter");
      values[key] = ev.target.hasAttribute("data-range") ? rangeValue(ev.target.value) : chosen(key);
      summarise(key);
      reloadChildren(key).then(refresh);
    });
    document.addEventListener("click", function (ev) {  /* one open dropdown at a time; a click outside closes it */
      document.querySelectorAll(".rd-select[open]").forEach(function (d) { if (!d.contains(ev.target)) { d.open = false; } });
    });
    var reset = form.querySelector("[data-rd-reset]");
    if (reset) {
      reset.addEventListener("click", function () {
        boot.filters.forEach(function (f) { values[f.key] = f.default; });
        window.location.href = window.location.pathname + "?" + qs({filters: values});
      });
    }
  }

  document.querySelectorAll("[data-zoom-out]").forEach(function (button) {
    button.addEventListener("click", function () {
      var index = +button.closest("[data-widget]").getAttribute("data-widget");
      delete zooms[index];
      rerun(index);
    });
  });
  var again = document.querySelector("[data-rd-refresh]");
  if (again) { again.addEventListener("click", function () { refresh(); }); }
  if (boot.refresh) {
    setInterval(function () { if (!document.hidden && loading === 0) { refresh(); } }, boot.refresh * 1000);
  }

  if (boot.mode === "report" && boot.zoom) { zooms[0] = boot.zoom; }
  boot.widgets.forEach(draw);
  window.lwReports = {values: values, refresh: refresh, entries: entries};
})();
