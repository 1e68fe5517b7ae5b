/* Generated create/edit pages. Conditions and formulas are never evaluated here: the draft is posted to the
   server's evaluate endpoint (the same compiled expressions the save uses) and its answer is applied. */
(function () {
  "use strict";
  var form = document.querySelector("[data-lw-form]");
  if (!form) { return; }
  var texts = JSON.parse(document.getElementById("lw-form-texts").textContent);
  var alertBox = form.querySelector("[data-form-alert]");
  var touched = {};
  var submitted = false;
  var seq = 0;

  /* ---------- reading values ---------- */
  function blank(v) { return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0); }
  function shiftDecimal(text, places) {  /* "4.5" shifted by -2 -> "0.045", exact, no binary floats */
    text = String(text).trim();
    if (!/^-?\d*(\.\d*)?$/.test(text) || text === "" || text === "-") { return text; }
    var neg = text[0] === "-"; if (neg) { text = text.slice(1); }
    var parts = text.split("."), intPart = parts[0] || "0", frac = parts[1] || "";
    var digits = intPart + frac, point = intPart.length + places;
    while (point <= 0) { digits = "0" + digits; point += 1; }
    while (point > digits.length) { digits += "0"; }
    var out = (digits.slice(0, point).replace(/^0+(?=\d)/, "") || "0") + (digits.slice(point) ? "." + digits.slice(point) : "");
    out = out.indexOf(".") >= 0 ? out.replace(/0+$/, "").replace(/\.$/, "") : out;
    return (neg ? "-" : "") + out;
  }
  function own(el, selector) {  /* elements of this widget only, not of nested rows */
    return Array.prototype.filter.call(el.querySelectorAll(selector), function (x) { return x.closest(".lw-field") === el; });
  }
  function readField(el) {
    var type = el.dataset.type, input = own(el, "[data-input]")[0];
    switch (type) {
      case "boolean": return input.checked;
      case "radio": case "rating": {
        var on = own(el, "[data-choice]").filter(function (x) { return x.checked; })[0];
        return on ? (type === "rating" ? parseInt(on.value, 10) : on.value) : null;
      }
      case "checkboxes": return own(el, "[data-choice]").filter(function (x) { return x.checked; }).map(function (x) { return x.value; });
      case "multi_select": return Array.prototype.filter.call(input.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
      case "user": case "department":
        if (input.multiple) { return Array.prototype.filter.call(input.options, function (o) { return o.selected; }).map(function (o) { return parseInt(o.value, 10); }); }
        return input.value ? parseInt(input.value, 10) : null;
      case "percent": return input.value.trim() === "" ? null : shiftDecimal(input.value, -2);
      case "datetime": return input.value ? input.value + (input.value.length === 16 ? ":00" : "") + form.dataset.tzOffset : null;
      case "region": return regionValue(el) || null;
      case "address": {
        var region = regionValue(el), detail = own(el, "[data-detail]")[0].value;
        return (region || detail) ? Object.assign(region ? {region: region} : {}, detail ? {detail: detail} : {}) : null;
      }
      case "location": {
        var lat = own(el, "[data-lat]")[0].value.trim(), lng = own(el, "[data-lng]")[0].value.trim();
        return lat || lng ? {lat: lat, lng: lng} : null;
      }
      case "attachment": case "image": case "signature": return (el._files || []).map(function (f) { return {id: f.id}; });
      case "relation": {
        var ids = (el._chosen || []).map(function (x) { return x.id; });
        return el.dataset.many === "1" ? ids : (ids.length ? ids[0] : null);
      }
      case "formula": case "rollup": case "lookup": case "serial_number": return undefined;
      default: return input ? (input.value === "" ? null : input.value) : undefined;
    }
  }
  function collect() {
    var values = {};
    own0("[data-key]").forEach(function (el) {
      var key = el.dataset.key;
      if (el.dataset.type === "subtable") {
        values[key] = Array.prototype.map.call(el.querySelectorAll("tbody[data-rows] > tr[data-row]"), function (tr) {
          var row = {};
          Array.prototype.forEach.call(tr.querySelectorAll("td[data-key]"), function (td) {
            var v = readField(td);
            if (v !== undefined) { row[td.dataset.key] = blank(v) ? null : v; }
          });
          return row;
        });
        return;
      }
      if (!el.classList.contains("lw-field") || el.hasAttribute("data-shown")) { return; }  /* shown, not edited */
      if (el.hasAttribute("data-readonly")) { return; }  /* read-only fields are set by the server, not sent */
      var v = readField(el);
      if (v !== undefined) { values[key] = blank(v) && !Array.isArray(v) ? null : v; }
    });
    return values;
  }
  function own0(selector) {  /* top-level widgets (not those inside sub-table rows) */
    return Array.prototype.filter.call(form.querySelectorAll(selector), function (el) { return !el.closest("tr[data-row]"); });
  }
  function widget(path) {  /* "lines[2].qty" or "title" -> its element */
    var m = /^([a-z0-9_]+)\[(\d+)\]\.([a-z0-9_]+)$/.exec(path);
    if (m) {
      var sub = own0('[data-key="' + m[1] + '"]')[0];
      var tr = sub && sub.querySelectorAll("tbody[data-rows] > tr[data-row]")[parseInt(m[2], 10)];
      return tr ? tr.querySelector('td[data-key="' + m[3] + '"]') : sub;
    }
    return own0('[data-key="' + path + '"]')[0] || null;
  }

  /* ---------- applying the server's answer ---------- */
  function setFlags(el, flags) {
    if (!el || !flags) { return; }
    el.hidden = !flags.visible;
    var label = el.querySelector(".lw-label");
    if (label) { label.classList.toggle("lw-required", !!flags.required); }
    if (el.matches(".lw-field")) {
      own(el, "input, select, textarea, button").forEach(function (x) { x.disabled = !!flags.readonly; });
    }
  }
  function apply(state) {
    Object.keys(state.fields || {}).forEach(function (key) {
      var el = own0('[data-key="' + key + '"]')[0];
      setFlags(el, state.fields[key]);
      var group = form.querySelector('section[data-group][data-key="' + key + '"]');
      if (group && state.fields[key]) { group.dataset.hiddenByRule = state.fields[key].visible ? "" : "1"; if (!state.fields[key].visible) { group.hidden = true; } }
    });
    Object.keys(state.rows || {}).forEach(function (sub) {
      var rows = own0('[data-key="' + sub + '"]')[0];
      if (!rows) { return; }
      var trs = rows.querySelectorAll("tbody[data-rows] > tr[data-row]");
      state.rows[sub].forEach(function (flags, i) {
        if (!trs[i]) { return; }
        Object.keys(flags).forEach(function (k) {
          var td = trs[i].querySelector('td[data-key="' + k + '"]');
          if (td) { own(td, "input, select, textarea").forEach(function (x) { x.disabled = !!flags[k].readonly; x.style.visibility = flags[k].visible ? "" : "hidden"; }); }
        });
      });
    });
    Object.keys(state.display || {}).forEach(function (key) {
      var value = state.display[key];
      if (Array.isArray(value)) {
        var rows = own0('[data-key="' + key + '"]')[0];
        if (!rows) { return; }
        var trs = rows.querySelectorAll("tbody[data-rows] > tr[data-row]");
        value.forEach(function (cells, i) {
          Object.keys(cells).forEach(function (k) {
            var out = trs[i] && trs[i].querySelector('td[data-key="' + k + '"] [data-output]');
            if (out) { out.textContent = cells[k]; }
          });
        });
        return;
      }
      var el = own0('[data-key="' + key + '"] [data-output]')[0];
      if (el) { el.textContent = value; }
    });
    showErrors(state.errors || [], false);
  }
  function showErrors(errors, all) {
    form.querySelectorAll("[data-error]").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll(".lw-invalid").forEach(function (e) { e.classList.remove("lw-invalid"); });
    var general = [];
    errors.forEach(function (err) {
      var top = String(err.field).split("[")[0];
      if (!all && !submitted && !touched[top]) { return; }
      var el = widget(err.field);
      var slot = el && Array.prototype.filter.call(el.querySelectorAll("[data-error]"), function (x) {
        return x.parentNode === el; })[0];
      if (slot && !el.hidden) {
        slot.textContent = slot.textContent ? slot.textContent + "; " + err.message : err.message;
        el.classList.add("lw-invalid");
      } else if (submitted || all) {
        general.push(err.message);
      }
    });
    if (general.length) { showAlert(general.join("; ")); }
    return errors.length;
  }
  function showAlert(text, html) {
    alertBox.hidden = !text;
    alertBox.textContent = text || "";
    if (html) { alertBox.appendChild(html); }
  }

  var lastState = null;
  function evaluate() {
    var mine = ++seq;
    var body = {values: collect()};
    if (form.dataset.evaluateWith) { Object.assign(body, JSON.parse(form.dataset.evaluateWith)); }  /* the designer's draft */
    if (form.dataset.record) { body.record_id = parseInt(form.dataset.record, 10); }
    return lw.api("POST", form.dataset.evaluate, body).then(function (r) {
      if (!r.ok) { return lastState; }
      if (mine !== seq) { return r.data; }  /* a newer draft went out meanwhile: it will be shown, not this one */
      lastState = r.data;
      apply(r.data);
      return r.data;
    });
  }
  var evaluateSoon = lw.debounce(evaluate, 250);
  form.addEventListener("input", function (e) { mark(e.target); evaluateSoon(); });
  form.addEventListener("change", function (e) { mark(e.target); evaluateSoon(); });
  function mark(target) {
    var el = target.closest && target.closest("[data-key]");
    while (el && el.closest("tr[data-row]")) { el = el.closest("tr[data-row]").closest("[data-key]"); }
    if (el) { touched[el.dataset.key] = true; }
  }

  /* ---------- saving ---------- */
  var saveButton = form.querySelector("[data-save-button]");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (form.dataset.noSave) { return; }  /* a form embedded in another page (a flow task): that page sends it */
    submitted = true;
    if (form.dataset.preview) {  /* the designer's live preview: check the draft, never write a record */
      showAlert("");
      delete alertBox.dataset.preview;
      evaluate().then(function (state) {
        var count = showErrors((state && state.errors) || [], true);
        if (count) { if (alertBox.hidden) { showAlert(texts.fix_errors); } } else { showAlert(texts.preview_not_saved); }
        alertBox.dataset.preview = count ? "errors" : "ok";
      });
      return;
    }
    saveButton.disabled = true;
    saveButton.textContent = texts.saving;
    showAlert("");
    var values = collect();
    var headers = {};
    if (form.dataset.record) { headers["If-Match"] = '"' + form.dataset.version + '"'; }
    lw.api(form.dataset.record ? "PATCH" : "POST", form.dataset.save, values, headers).then(function (r) {
      if (r.ok) {
        window.location.href = form.dataset.done + r.data.id;
        return;
      }
      saveButton.disabled = false;
      saveButton.textContent = texts.save;
      if (r.status === 412) {
        var link = document.createElement("a");
        link.href = window.location.href; link.textContent = " " + texts.reload;
        showAlert(texts.conflict, link);
        alertBox.dataset.conflict = "1";
      } else if (r.status === 422) {
        var details = (r.data && r.data.error && r.data.error.details) || [];
        evaluate().then(function (state) {
          var known = {}, errors = (state && state.errors) || [];
          errors.forEach(function (x) { known[x.field] = true; });
          details.forEach(function (d) {
            if (!known[d.field]) { errors.push({field: d.field, code: d.code, message: texts.codes[d.code] || d.message}); }
          });
          showErrors(errors, true);
          if (alertBox.hidden) { showAlert(texts.fix_errors); }
          var first = form.querySelector(".lw-invalid");
          if (first) { reveal(first); first.scrollIntoView({block: "center"}); }
        });
      } else {
        showAlert(texts.save_failed + ": " + ((r.data && r.data.error && r.data.error.message) || r.status));
      }
    }).catch(function () {
      saveButton.disabled = false; saveButton.textContent = texts.save; showAlert(texts.save_failed);
    });
  });

  /* ---------- tabs and wizard steps ---------- */
  var groups = Array.prototype.slice.call(form.querySelectorAll("section[data-group]"));
  var current = 0;
  function showGroup(i) {
    if (form.dataset.mode === "plain") { return; }
    current = Math.max(0, Math.min(groups.length - 1, i));
    groups.forEach(function (g, j) { g.hidden = j !== current || g.dataset.hiddenByRule === "1"; });
    form.querySelectorAll("[data-tab], [data-step-label]").forEach(function (b) {
      b.classList.toggle("is-current", parseInt(b.dataset.tab || b.dataset.stepLabel, 10) === current);
    });
  }
  function reveal(el) { var g = el.closest("section[data-group]"); if (g) { showGroup(groups.indexOf(g)); } }
  form.querySelectorAll("[data-tab]").forEach(function (b) { b.addEventListener("click", function () { showGroup(parseInt(b.dataset.tab, 10)); }); });
  var prev = form.querySelector("[data-step-prev]"), next = form.querySelector("[data-step-next]");
  if (prev) { prev.addEventListener("click", function () { showGroup(current - 1); }); }
  if (next) { next.addEventListener("click", function () { showGroup(current + 1); }); }

  /* ---------- sub-table rows ---------- */
  function initRow(root) {
    root.querySelectorAll(".lw-field").forEach(initWidget);
  }
  form.querySelectorAll(".lw-subtable").forEach(function (sub) {
    var body = sub.querySelector("tbody[data-rows]"), tpl = sub.querySelector("template[data-row-template]");
    var counter = body.children.length;
    sub.querySelector("[data-add-row]").addEventListener("click", function () {
      var html = tpl.innerHTML.replace(/__i__/g, "n" + (counter++));
      body.insertAdjacentHTML("beforeend", html);
      initRow(body.lastElementChild);
      touched[sub.dataset.key] = true;
      evaluateSoon();
    });
    body.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-remove-row]");
      if (!btn) { return; }
      btn.closest("tr[data-row]").remove();
      touched[sub.dataset.key] = true;
      evaluateSoon();
    });
  });

  /* ---------- widgets ---------- */
  var regionsPromise = null;
  function regions() {
    if (!regionsPromise) {
      regionsPromise = fetch("/api/regions", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (names) {
        var kids = {};
        Object.keys(names).sort().forEach(function (code) {
          var parent = /0000$/.test(code) ? "" : /00$/.test(code) ? code.slice(0, 2) + "0000" : code.slice(0, 4) + "00";
          (kids[parent] = kids[parent] || []).push(code);
        });
        return {names: names, kids: kids};
      });
    }
    return regionsPromise;
  }
  function regionValue(el) {
    var box = own(el, "[data-region]")[0];
    var sels = box ? box.querySelectorAll("select") : [];
    var value = "";
    Array.prototype.forEach.call(sels, function (s) { if (s.value && !s.hidden) { value = s.value; } });
    return value;
  }
  function initRegion(el) {
    var box = own(el, "[data-region]")[0];
    if (!box) { return; }
    var sels = box.querySelectorAll("select");
    var depth = {province: 1, city: 2, district: 3}[box.dataset.levels] || 3;
    for (var k = depth; k < 3; k++) { sels[k].hidden = true; }
    regions().then(function (data) {
      function fill(level, parent, chosen) {
        var sel = sels[level];
        while (sel.options.length > 1) { sel.remove(1); }
        (data.kids[parent] || []).forEach(function (code) {
          var o = document.createElement("option"); o.value = code; o.textContent = data.names[code];
          o.selected = code === chosen; sel.appendChild(o);
        });
      }
      var value = box.dataset.value || "";
      var chain = value ? [value.slice(0, 2) + "0000", value.slice(0, 4) + "00", value] : ["", "", ""];
      fill(0, "", chain[0]);
      if (value && depth > 1) { fill(1, chain[0], chain[1]); }
      if (value && depth > 2 && chain[2] !== chain[1]) { fill(2, chain[1], chain[2]); }
      Array.prototype.forEach.call(sels, function (sel, level) {
        sel.addEventListener("change", function () {
          for (var j = level + 1; j < 3; j++) { while (sels[j].options.length > 1) { sels[j].remove(1); } }
          if (sel.value && level + 1 < depth) { fill(level + 1, sel.value, ""); }
        });
      });
    });
  }
  function renderFiles(el) {
    var list = own(el, "[data-list]")[0] || el.querySelector("[data-list]");
    list.textContent = "";
    (el._files || []).forEach(function (f, i) {
      var li = document.createElement("li");
      var a = document.createElement("a"); a.href = "/api/files/" + f.id; a.textContent = f.name || ("#" + f.id);
      li.appendChild(a);
      var rm = document.createElement("button"); rm.type = "button"; rm.className = "lw-btn lw-btn-small"; rm.textContent = texts.remove;
      rm.addEventListener("click", function () { el._files.splice(i, 1); renderFiles(el); touched[el.dataset.key] = true; evaluateSoon(); });
      li.appendChild(rm);
      list.appendChild(li);
    });
  }
  function upload(el, file, name) {
    if (form.dataset.preview) {  /* a preview shows the file input but uploads nothing */
      var note = el.querySelector("[data-error]");
      if (note) { note.textContent = texts.preview_no_upload; }
      return Promise.resolve();
    }
    var box = el.querySelector("[data-files]") || el;
    var bar = box.querySelector("[data-progress]");
    var inRow = !!el.closest("tr[data-row]");
    var url = "/api/files" + (inRow ? "" : "?app=" + encodeURIComponent(form.dataset.app) + "&form=" +
      encodeURIComponent(form.dataset.form) + "&field=" + encodeURIComponent(el.dataset.key));
    return track(new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", lw.csrf);
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
      xhr.onload = function () {
        bar.hidden = true;
        var data = null; try { data = JSON.parse(xhr.responseText); } catch (e2) { data = null; }
        if (xhr.status === 201 && data) {
          el._files = (el._files || []).concat([{id: data.id, name: data.name}]);
          var max = parseInt(box.dataset.max || "10", 10);
          if (el._files.length > max) { el._files = el._files.slice(-max); }
          renderFiles(el); touched[el.dataset.key] = true; evaluateSoon();
        } else {
          var slot = el.querySelector("[data-error]");
          slot.textContent = (data && data.error && data.error.message) || String(xhr.status);
          el.classList.add("lw-invalid");
        }
        resolve();
      };
      xhr.onerror = function () { bar.hidden = true; resolve(); };
      bar.hidden = false; bar.value = 0;
      var body = new FormData(); body.append("file", file, name || file.name);
      xhr.send(body);
    }));
  }
  var pending = [];
  function track(job) {  /* uploads under way: settled() waits for them */
    pending.push(job);
    return job.then(function () { pending.splice(pending.indexOf(job), 1); });
  }
  function initFiles(el) {
    var box = el.querySelector("[data-files]");
    el._files = JSON.parse(box.dataset.files || "[]");
    renderFiles(el);
    var input = box.querySelector("[data-file]");
    if (input) {
      input.addEventListener("change", function () {
        Array.prototype.reduce.call(input.files, function (p, file) { return p.then(function () { return upload(el, file); }); }, Promise.resolve())
          .then(function () { input.value = ""; });
      });
    }
    var canvas = box.querySelector("[data-pad]");
    if (canvas && window.SignaturePad) {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      canvas.width = canvas.offsetWidth * ratio || 480; canvas.height = canvas.offsetHeight * ratio || 160;
      canvas.getContext("2d").scale(ratio, ratio);
      var pad = new window.SignaturePad(canvas);
      el._pad = pad;
      box.querySelector("[data-pad-clear]").addEventListener("click", function () { pad.clear(); });
      box.querySelector("[data-pad-use]").addEventListener("click", function () {
        if (pad.isEmpty()) { return; }
        canvas.toBlob(function (blob) { upload(el, blob, "signature.png"); }, "image/png");
      });
    }
  }
  function renderChips(el) {
    var chips = el.querySelector("[data-chips]");
    chips.textContent = "";
    (el._chosen || []).forEach(function (item, i) {
      var chip = document.createElement("span"); chip.className = "lw-chip"; chip.textContent = item.title;
      var rm = document.createElement("button"); rm.type = "button"; rm.textContent = "✕"; rm.title = texts.remove;
      rm.addEventListener("click", function () { el._chosen.splice(i, 1); renderChips(el); touched[el.dataset.key] = true; evaluateSoon(); });
      chip.appendChild(rm); chips.appendChild(chip);
    });
  }
  function initRelation(el) {
    var box = el.querySelector("[data-relation]");
    el._chosen = JSON.parse(box.dataset.selected || "[]");
    renderChips(el);
    var query = box.querySelector("[data-query]"), results = box.querySelector("[data-results]");
    var titleField = box.dataset.titleField, many = box.dataset.many === "1";
    var search = lw.debounce(function () {
      var q = query.value.trim();
      lw.api("GET", box.dataset.search + "?size=10" + (q ? "&q=" + encodeURIComponent(q) : "")).then(function (r) {
        results.textContent = "";
        if (!r.ok) { results.hidden = true; return; }
        r.data.items.forEach(function (rec) {
          var li = document.createElement("li");
          li.textContent = (titleField && rec[titleField]) ? String(rec[titleField]) : "#" + rec.id;
          li.dataset.id = rec.id;
          li.addEventListener("mousedown", function (e) {
            e.preventDefault();
            var item = {id: rec.id, title: li.textContent};
            el._chosen = many ? (el._chosen || []).filter(function (x) { return x.id !== rec.id; }).concat([item]) : [item];
            renderChips(el); query.value = ""; results.hidden = true;
            touched[el.dataset.key] = true; evaluateSoon();
          });
          results.appendChild(li);
        });
        results.hidden = r.data.items.length === 0;
      });
    }, 200);
    query.addEventListener("input", function (e) { e.stopPropagation(); search(); });
    query.addEventListener("focus", search);
    query.addEventListener("blur", function () { setTimeout(function () { results.hidden = true; }, 150); });
  }
  function initRating(el) {
    var labels = own(el, ".lw-rating label");
    function paint() {
      var value = readField(el) || 0;
      labels.forEach(function (l, i) { l.classList.toggle("is-on", i < value); });
    }
    el.addEventListener("change", paint); paint();
  }
  function initRich(el) {
    var holder = own(el, "[data-rich]")[0], store = own(el, "[data-input]")[0];
    if (!window.pell) { store.hidden = false; return; }
    var editor = window.pell.init({element: holder, onChange: function (html) {
      store.value = html; touched[el.dataset.key] = true; evaluateSoon(); },
      actions: ["bold", "italic", "underline", "olist", "ulist", "link"]});
    editor.content.innerHTML = store.value;  /* the stored value was sanitised on the server */
  }
  function initLocation(el) {
    var btn = own(el, "[data-locate]")[0];
    if (!btn || !navigator.geolocation) { if (btn) { btn.hidden = true; } return; }
    btn.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        own(el, "[data-lat]")[0].value = pos.coords.latitude.toFixed(6);
        own(el, "[data-lng]")[0].value = pos.coords.longitude.toFixed(6);
        touched[el.dataset.key] = true; evaluateSoon();
      });
    });
  }
  function initWidget(el) {
    switch (el.dataset.type) {
      case "region": case "address": initRegion(el); break;
      case "attachment": case "image": case "signature": initFiles(el); break;
      case "relation": initRelation(el); break;
      case "rating": initRating(el); break;
      case "rich_text": initRich(el); break;
      case "location": initLocation(el); break;
    }
  }
  form.querySelectorAll(".lw-field").forEach(function (el) {
    if (!el.closest("template")) { initWidget(el); }
  });
  form.querySelectorAll(".lw-field[data-readonly]").forEach(function (el) {
    own(el, "input, select, textarea, button").forEach(function (x) { x.disabled = true; });
  });
  window.lwForm = {
    collect: collect, evaluate: evaluate,
    /* the keys of the fields changed on this page */
    touched: function () { return Object.keys(touched); },
    /* resolves once the files being uploaded are stored */
    settled: function () { return Promise.all(pending.slice()); },
    /* problems the server answered ({field, message}) shown at their fields */
    showErrors: function (errors) {
      submitted = true;
      showErrors(errors.map(function (d) { return {field: d.field, code: d.code, message: texts.codes[d.code] || d.message}; }), true);
      var first = form.querySelector(".lw-invalid");
      if (first) { reveal(first); }
    }
  };
})();
