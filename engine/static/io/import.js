/* The import page: upload → mapping table → dry run / import, polling the job for progress and problems.
   Everything shown is set with textContent (values come from the user's file). */
(function () {
  "use strict";
  var root = document.querySelector("[data-io-import]");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var q = function (sel) { return root.querySelector(sel); };
  var fields = JSON.parse(q("[data-io-fields]").textContent);
  var ignoreLabel = JSON.parse(q("[data-io-ignore]").textContent);
  var job = null;

  function el(tag, text) { var e = document.createElement(tag); if (text !== undefined && text !== null) { e.textContent = String(text); } return e; }
  function showError(message) { var p = q("[data-io-error]"); p.textContent = message; p.hidden = !message; }
  function errorText(res) {
    var err = (res.data && res.data.error) || {};
    var details = (err.details || []).map(function (d) { return (d.field ? d.field + ": " : "") + d.message; });
    return [err.message || ("HTTP " + res.status)].concat(details).join(" · ");
  }

  function showMapping(data) {
    job = data;
    q("[data-io-file-info]").textContent = data.file + " · " + data.progress.total;
    var body = q("[data-io-columns]");
    body.textContent = "";
    data.columns.forEach(function (c, i) {
      var tr = el("tr");
      tr.appendChild(el("td", c.column));
      tr.appendChild(el("td", c.header));
      var sample = data.sample.length ? data.sample[0][i] : "";
      tr.appendChild(el("td", sample === null ? "" : sample));
      var td = el("td"), select = el("select");
      select.setAttribute("data-io-column", c.column);
      var none = el("option", ignoreLabel); none.value = ""; select.appendChild(none);
      fields.forEach(function (f) {
        var o = el("option", f.label + " (" + f.key + ")"); o.value = f.key;
        if (f.key === c.field) { o.selected = true; }
        select.appendChild(o);
      });
      td.appendChild(select); tr.appendChild(td); body.appendChild(tr);
    });
    q("[data-io-notes]").textContent = (data.notes || []).join(" ");
    q("[data-io-mapping]").hidden = false;
  }

  function options() {
    var mapping = {};
    root.querySelectorAll("[data-io-column]").forEach(function (s) { mapping[s.getAttribute("data-io-column")] = s.value || null; });
    return {mapping: mapping, mode: q("[data-io-mode]").value, duplicates: q("[data-io-duplicates]").value};
  }

  function showJob(data) {
    q("[data-io-result]").hidden = false;
    q("[data-io-progress]").value = data.progress.percent;
    q("[data-io-percent]").textContent = data.progress.percent + "%";
    var status = q("[data-io-status]");
    status.textContent = data.status + (data.message ? " · " + data.message : "");
    status.setAttribute("data-status", data.status);
    var table = q("[data-io-problems]"), body = table.querySelector("tbody");
    body.textContent = "";
    (data.problems || []).forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", p.row === null ? "" : (p.sheet ? p.sheet + " " : "") + p.row));
      tr.appendChild(el("td", p.column ? p.column + " " + p.header : p.header));
      tr.appendChild(el("td", p.message));
      body.appendChild(tr);
    });
    table.hidden = !(data.problems || []).length;
    var link = q("[data-io-rejected]");
    var rejected = (data.problems || []).some(function (p) { return p.record; });
    link.hidden = !rejected || (data.status !== "checked" && data.status !== "done" && data.status !== "failed");
    link.href = api + "/imports/" + data.id + "/rejected?format=xlsx";
  }

  function poll(id) {
    lw.api("GET", api + "/imports/" + id).then(function (res) {
      if (!res.ok) { showError(errorText(res)); return; }
      showJob(res.data);
      if (res.data.status === "checking" || res.data.status === "importing") { setTimeout(function () { poll(id); }, 500); }
    });
  }

  q("[data-io-upload]").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    var file = q("[data-io-file]").files[0];
    if (!file) { return; }
    var data = new FormData(); data.append("file", file);
    fetch(api + "/imports", {method: "POST", body: data, credentials: "same-origin",
                             headers: {"X-CSRF-Token": lw.csrf, "Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (d) { return {ok: r.ok, status: r.status, data: d}; }); })
      .then(function (res) {
        if (!res.ok) { showError(errorText(res)); return; }
        q("[data-io-result]").hidden = true;
        showMapping(res.data);
      });
  });

  root.querySelectorAll("[data-io-run]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!job) { return; }
      showError("");
      lw.api("POST", api + "/imports/" + job.id + "/" + button.getAttribute("data-io-run"), options()).then(function (res) {
        if (!res.ok) { showError(errorText(res)); return; }
        showJob(res.data);
        poll(job.id);
      });
    });
  });
})();
