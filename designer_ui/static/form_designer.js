// The form designer: palette of field types → canvas (reorder, sections, sub-tables) → property panel, with
// expressions completed and checked as you type, a live preview, and the YAML the draft will be saved as.
import { call, debounce, h, post, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const EXPR_PROPS = ["expr", "visible_if", "required_if", "readonly_if"];
const COMMON = ["key", "type", "label", "help", "required", "readonly", "default", "visible_if", "required_if", "readonly_if"];
const GROUP_ORDER = ["basic", "layout", "structure", "relation", "computed", "files"];
const GROUP_LABEL = { basic: "Basic", layout: "Layout", structure: "Structure", relation: "People & relations", computed: "Computed", files: "Files" };
const KEY_RE = /^[a-z][a-z0-9_]{0,39}$/;

export async function mountFormDesigner(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  if (!file.data || typeof file.data !== "object" || Array.isArray(file.data)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a form (not a YAML mapping). ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  const model = file.data;
  if (!Array.isArray(model.fields)) model.fields = [];
  const types = Object.fromEntries(meta.field_types.map((t) => [t.name, t]));
  const fieldSchema = meta.schemas.form.$defs.field.properties;
  const functions = meta.functions.map((f) => f.name);
  const formKeys = [];
  const roles = []; // the app's roles (org.yaml), for the rights table
  const otherForms = {}; // form key → its field keys (for relation, lookup and rollup options)
  const otherRelations = {}; // form key → [{key, to}] its single relations
  let selected = null; // the selected field object (or null: the form itself)
  let activeTab = null; // the section shown when the form's sections are tabs or steps
  let errors = file.errors;
  let lastContent = file.content;
  const cardsByPath = new Map();
  const pathOf = new Map(); // field object → "fields[2].fields[0]"
  const exprErrorEls = new Map(); // "fields[2].visible_if" → element
  let uid = 0;
  const byUid = new Map();

  // -- layout -------------------------------------------------------------------------------------------------
  const palette = h("div.palette", { "data-testid": "palette" });
  const canvasList = h("div.canvas-list.root", { "data-testid": "canvas", "data-list": "root" });
  const canvas = h("div.canvas", {}, h("div.form-title", {}), canvasList);
  const panel = h("div.panel", { "data-testid": "properties" });
  const preview = h("div.preview", { "data-testid": "preview" });
  const yamlView = h("pre.yaml", { "data-testid": "yaml" });
  const tabs = {};
  const showTab = (name) => {
    for (const [n, [btn, pane]] of Object.entries(tabs)) { btn.classList.toggle("active", n === name); pane.hidden = n !== name; }
    if (name === "preview") renderPreview();
    if (name === "yaml") yamlView.textContent = lastContent;
  };
  for (const [name, label, pane] of [["design", "Design", canvas], ["preview", "Preview", preview], ["yaml", "YAML", yamlView]]) {
    tabs[name] = [h("button.tab", { onclick: () => showTab(name), "data-testid": `tab-${name}` }, label), pane];
  }
  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: (e) => pick(e.path),
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; markErrors(); };
  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.designer", {}, palette,
      h("div.center", {}, h("div.tabs", {}, Object.values(tabs).map(([b]) => b)), canvas, preview, yamlView),
      panel),
    toolbar.problems);
  showTab("design");

  // -- palette ------------------------------------------------------------------------------------------------
  const groups = {};
  for (const t of meta.field_types) (groups[t.group] ||= []).push(t);
  for (const g of [...GROUP_ORDER, ...Object.keys(groups).filter((g) => !GROUP_ORDER.includes(g))]) {
    if (!groups[g]) continue;
    const list = h("div.palette-list", {}, groups[g].map((t) => h("div.palette-item", {
      "data-new-type": t.name, "data-type": t.name, "data-testid": `palette-${t.name}`, title: t.name,
    }, t.label, h("small", {}, t.name))));
    palette.append(h("h4", {}, GROUP_LABEL[g] || g), list);
    new Sortable(list, { group: { name: "fields", pull: "clone", put: false }, sort: false, forceFallback: true,
      fallbackOnBody: true, onEnd: () => setTimeout(syncFromDom) });
  }

  // -- model helpers ------------------------------------------------------------------------------------------
  function allKeys(list) { return new Set(list.map((f) => f.key)); }
  function newField(type, siblings) {
    const base = type.replace(/[^a-z0-9_]/g, "_");
    const taken = allKeys(siblings);
    let n = 1;
    while (taken.has(`${base}_${n}`)) n++;
    const f = { key: `${base}_${n}`, type };
    const t = types[type];
    if (!t.layout_only || type === "section") f.label = `${t.label} ${n}`;
    if (["select", "radio", "multi_select", "checkboxes"].includes(type)) f.options = ["A", "B"];
    if (type === "subtable") f.fields = [];
    if (type === "formula") f.expr = "1";
    if (type === "serial_number") f.template = "NO-{YYYY}{MM}-{0000}";
    if (type === "relation") f.to = formKeys[0] || model.key;
    if (type === "description") f.text = "…";
    return f;
  }
  function markDirty() { session.dirty = true; toolbar.status("Unsaved changes"); liveCheck(); }

  function readList(listEl, siblingsForKeys) {
    const out = [];
    for (const card of [...listEl.children]) {
      if (card.dataset.newType) {
        const f = newField(card.dataset.newType, [...siblingsForKeys, ...out]);
        out.push(f);
        selected = f;
        continue;
      }
      const f = byUid.get(card.dataset.uid);
      if (!f) continue;
      const inner = card.querySelector(":scope > .canvas-list");
      if (f.type === "section") {
        out.push(f);
        out.push(...readList(inner, [...siblingsForKeys, ...out]));
      } else if (f.type === "subtable") {
        f.fields = readList(inner, []);
        out.push(f);
      } else out.push(f);
    }
    return out;
  }

  function syncFromDom() {
    const before = JSON.stringify(model.fields);
    model.fields = readList(canvasList, []);
    renderCanvas();
    renderPanel();
    if (JSON.stringify(model.fields) !== before) markDirty();
  }

  function removeField(f) {
    const drop = (list) => {
      const i = list.indexOf(f);
      if (i >= 0) { list.splice(i, 1); return true; }
      return list.some((x) => Array.isArray(x.fields) && drop(x.fields));
    };
    drop(model.fields);
    if (selected === f) selected = null;
    renderCanvas(); renderPanel(); markDirty();
  }

  // -- canvas -------------------------------------------------------------------------------------------------
  function canPut(to, _from, dragEl) {
    const type = dragEl.dataset.type;
    const kind = to.el.dataset.list;
    if (kind === "subtable") return !["subtable", "section"].includes(type);
    if (kind === "section") return true;
    return true;
  }
  function makeSortable(el) {
    if (Sortable.get(el)) return; // the root list lives as long as the designer: one Sortable, not one per render
    new Sortable(el, { group: { name: "fields", pull: true, put: canPut }, forceFallback: true, fallbackOnBody: true,
      draggable: ".card, .palette-item", animation: 0, swapThreshold: 0.6, emptyInsertThreshold: 12,
      onEnd: () => setTimeout(syncFromDom) });
  }
  // a tab of a tabbed form (sections with tab or step): a field dropped on it goes to the end of that section
  function tabHeader(f) {
    const el = h(`div.canvas-tab${f.key === activeTab ? ".active" : ""}`, { "data-testid": `canvas-tab-${f.key}`,
      onclick: () => { activeTab = f.key; renderCanvas(); } }, text(f.label) || f.key);
    new Sortable(el, { group: { name: "fields", pull: false, put: (_to, _from, dragEl) => dragEl.dataset.type !== "section" },
      forceFallback: true, fallbackOnBody: true, emptyInsertThreshold: 20,
      onAdd: (ev) => {
        canvasList.querySelector(`[data-testid="section-list-${f.key}"]`)?.append(ev.item);
        activeTab = f.key;
      } });
    return el;
  }

  function card(f, fpath, keyPath) {
    const id = String(++uid);
    byUid.set(id, f);
    pathOf.set(f, fpath);
    const t = types[f.type] || { label: f.type };
    const badges = [];
    if (f.required) badges.push(h("span.badge", {}, "required"));
    if (f.visible_if) badges.push(h("span.badge.cond", { title: f.visible_if }, "conditional"));
    if (f.expr) badges.push(h("code.badge", {}, `= ${f.expr}`));
    const el = h(`div.card.type-${f.type}`, { "data-uid": id, "data-type": f.type, "data-key": f.key, "data-testid": `field-${keyPath}`,
      onclick: (ev) => { ev.stopPropagation(); selected = f; renderCanvas(); renderPanel(); } },
    h("div.card-head", {}, h("span.label", {}, text(f.label) || f.key), " ", h("code.key", {}, f.key),
      h("span.type", {}, t.label), ...badges,
      h("button.delete", { title: "Delete field", "data-testid": `delete-${keyPath}`, onclick: (ev) => { ev.stopPropagation(); removeField(f); } }, "×")),
    h("div.card-errors"));
    if (f === selected) el.classList.add("selected");
    cardsByPath.set(fpath, el);
    return el;
  }

  function renderCanvas() {
    byUid.clear(); cardsByPath.clear(); pathOf.clear();
    canvas.querySelector(".form-title").replaceChildren(h("strong", {}, text(model.label) || model.key), " ", h("code", {}, model.key || ""),
      h("button.small", { onclick: () => { selected = null; renderCanvas(); renderPanel(); }, "data-testid": "form-props" }, "form properties"));
    canvasList.replaceChildren();
    let target = canvasList;
    const sections = model.fields.filter((f) => f.type === "section");
    const tabbed = sections.some((f) => f.tab || f.step);
    if (tabbed && !sections.some((f) => f.key === activeTab)) activeTab = sections[0].key;
    model.fields.forEach((f, i) => {
      const fpath = `fields[${i}]`;
      const el = card(f, fpath, f.key);
      if (f.type === "section") {
        const inner = h("div.canvas-list", { "data-list": "section", "data-testid": `section-list-${f.key}` });
        const columns = Math.min(4, Math.max(1, Number(f.columns) || 1));
        if (columns > 1) { inner.classList.add("columns"); inner.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`; }
        inner.dataset.columns = String(columns);
        el.append(inner);
        if (tabbed && f === sections[0]) {
          canvasList.append(h("div.canvas-tabs", { "data-testid": "canvas-tabs" }, h("span.muted", {}, sections.some((x) => x.step) ? "steps:" : "tabs:"),
            sections.map(tabHeader)));
        }
        if (tabbed && f.key !== activeTab) el.hidden = true;
        canvasList.append(el);
        makeSortable(inner);
        target = inner;
        return;
      }
      if (f.type === "subtable") {
        const inner = h("div.canvas-list", { "data-list": "subtable", "data-testid": `subtable-list-${f.key}` });
        (f.fields || []).forEach((s, j) => inner.append(card(s, `${fpath}.fields[${j}]`, `${f.key}.${s.key}`)));
        el.append(inner);
        makeSortable(inner);
      }
      target.append(el);
    });
    if (!model.fields.length) canvasList.append(h("p.hint.empty", {}, "Drag field types here from the palette."));
    makeSortable(canvasList);
    markErrors();
  }

  // -- problems on the canvas ---------------------------------------------------------------------------------
  function cardFor(errPath) {
    let best = null;
    for (const [p, el] of cardsByPath) {
      if ((errPath === p || errPath.startsWith(p + ".") || errPath.startsWith(p + "[")) && (!best || p.length > best[0].length)) best = [p, el];
    }
    return best;
  }
  function markErrors() {
    for (const el of cardsByPath.values()) { el.classList.remove("has-error"); el.querySelector(".card-errors").replaceChildren(); }
    for (const el of exprErrorEls.values()) el.textContent = "";
    const mine = errors.filter((e) => e.file === path);
    for (const e of mine) {
      const hit = cardFor(e.path || "");
      if (hit) {
        hit[1].classList.add("has-error");
        hit[1].querySelector(".card-errors").append(h("div.card-error", {}, `${e.path.slice(hit[0].length).replace(/^\./, "") || "field"}: ${e.message}`, e.hint ? ` (${e.hint})` : ""));
      }
      const exprEl = exprErrorEls.get(e.path);
      if (exprEl) exprEl.textContent = `${e.message}${e.hint ? ` (${e.hint})` : ""}`;
    }
    toolbar.showErrors(errors);
  }
  function pick(errPath) {
    const hit = cardFor(errPath || "");
    if (!hit) return;
    const f = byUid.get(hit[1].dataset.uid);
    selected = f; renderCanvas(); renderPanel();
    cardsByPath.get(hit[0])?.scrollIntoView({ block: "nearest" });
  }

  const liveCheck = debounce(async () => {
    try {
      const out = await session.check({ data: model });
      errors = out.errors;
      lastContent = out.content ?? lastContent;
      if (!yamlView.hidden) yamlView.textContent = lastContent;
      markErrors();
      if (!preview.hidden) refreshPreview();
    } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);

  async function save() {
    const saved = await session.save({ data: model });
    if (saved) { errors = saved.errors; lastContent = saved.content; markErrors(); }
  }

  // -- property panel -----------------------------------------------------------------------------------------
  function siblingsOf(f) {
    const p = pathOf.get(f) || "";
    const m = p.match(/^fields\[(\d+)\]\.fields\[\d+\]$/);
    return m ? model.fields[Number(m[1])].fields : model.fields;
  }
  function scopeNames(f) {
    const p = pathOf.get(f) || "";
    const m = p.match(/^fields\[(\d+)\]\.fields\[\d+\]$/);
    const valueKeys = (list) => list.filter((x) => !(types[x.type] || {}).layout_only).map((x) => x.key);
    if (m) return [...valueKeys(model.fields[Number(m[1])].fields), "parent"];
    return valueKeys(model.fields);
  }

  function setProp(obj, prop, value) {
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) delete obj[prop];
    else obj[prop] = value;
    renderCanvas();
    markDirty();
  }

  // ``owner``: the field the expression belongs to (its place and names), when ``f`` is a part of it ({expr} of a default)
  function exprEditor(f, prop, name = prop, owner = f, errPath = null) {
    const input = h("input.expr", { value: f[prop] || "", spellcheck: "false", autocomplete: "off", "data-testid": `prop-${name}` });
    const list = h("ul.complete", { hidden: true, "data-testid": `complete-${name}` });
    const err = h("div.expr-error", { "data-testid": `error-${name}` });
    exprErrorEls.set(errPath ?? `${pathOf.get(f) ?? ""}${pathOf.get(f) ? "." : ""}${prop}`, err);
    let items = [];
    let active = 0;
    const wordAtCaret = () => {
      const upto = input.value.slice(0, input.selectionStart);
      const m = upto.match(/[A-Za-z_][A-Za-z0-9_]*$/);
      return m ? m[0] : "";
    };
    const accept = (name) => {
      const word = wordAtCaret();
      const start = input.selectionStart - word.length;
      const isFn = functions.includes(name);
      const insert = isFn ? `${name}(` : name;
      input.value = input.value.slice(0, start) + insert + input.value.slice(input.selectionStart);
      input.setSelectionRange(start + insert.length, start + insert.length);
      list.hidden = true;
      setProp(f, prop, input.value);
      input.focus();
    };
    const suggest = () => {
      const word = wordAtCaret();
      if (!word) { list.hidden = true; return; }
      const lower = word.toLowerCase();
      items = [...scopeNames(owner), ...functions].filter((n) => n.toLowerCase().startsWith(lower) && n !== word).slice(0, 8);
      active = 0;
      list.replaceChildren(...items.map((n, i) => h(`li${i === 0 ? ".active" : ""}`, {
        onmousedown: (ev) => { ev.preventDefault(); accept(n); }, "data-name": n,
      }, n, functions.includes(n) ? h("small", {}, " function") : h("small", {}, " field"))));
      list.hidden = !items.length;
    };
    // the rules engine's verdict on this one expression, as you type (the whole app's check follows)
    const quickCheck = debounce(async () => {
      try {
        const out = await post(`/api/designer/apps/${encodeURIComponent(app)}/expression`,
          { path, data: model, field: pathOf.get(owner) || "", expr: input.value });
        err.textContent = out.ok ? "" : `${out.message}${out.hint ? ` (${out.hint})` : ""}`;
        input.classList.toggle("invalid", !out.ok);
      } catch (_) { /* the app check still reports it */ }
    }, 120);
    input.addEventListener("input", () => { setProp(f, prop, input.value); suggest(); quickCheck(); });
    input.addEventListener("keydown", (ev) => {
      if (list.hidden) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        [...list.children].forEach((li, i) => li.classList.toggle("active", i === active));
      } else if (ev.key === "Enter" || ev.key === "Tab") {
        ev.preventDefault(); accept(items[active]);
      } else if (ev.key === "Escape") list.hidden = true;
    });
    input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
    return h("div.expr-box", {}, input, list, err);
  }

  // one option per line: "value", "value = label", and a colour at the end ("value = label #1c64f2")
  function optionsEditor(f) {
    const toLine = (o) => {
      if (typeof o !== "object" || o === null) return String(o);
      const label = o.label !== undefined && text(o.label) !== String(o.value) ? ` = ${text(o.label)}` : "";
      return `${o.value}${label}${o.color ? ` ${o.color}` : ""}`;
    };
    const old = new Map((f.options || []).filter((o) => typeof o === "object" && o !== null).map((o) => [String(o.value), o]));
    const area = h("textarea.options", { rows: 4, "data-testid": "prop-options" });
    area.value = (f.options || []).map(toLine).join("\n");
    area.addEventListener("input", () => {
      const opts = area.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        let color;
        const m = l.match(/\s+(#[0-9a-fA-F]{6})$/) || l.match(/^()(#[0-9a-fA-F]{6})$/);
        if (m && m[1] !== "") { color = m[1]; l = l.slice(0, -m[0].length).trim(); }
        const [value, ...label] = l.split("=");
        const v = value.trim();
        const was = old.get(v);
        // a label in several languages keeps its other languages when its first one is edited
        const lab = label.length ? label.join("=").trim() : undefined;
        const keepLabel = was && typeof was.label === "object" && was.label && lab !== undefined ? { ...was.label, "zh-CN": lab } : lab;
        if (keepLabel === undefined && !color) return v;
        const o = { value: v };
        if (keepLabel !== undefined) o.label = keepLabel;
        if (color) o.color = color;
        return o;
      });
      setProp(f, "options", opts);
    });
    return h("div", {}, area, h("small.muted", {}, "one option per line; 'value = label' to show another text, a colour at the end: 'paid = 已付 #1e8e3e'"));
  }

  // a default is a value, or {expr: …} computed when a record is created
  function defaultEditor(f) {
    const computed = f.default !== null && typeof f.default === "object" && !Array.isArray(f.default);
    const toggle = h("label.inline", {}, h("input", { type: "checkbox", checked: computed, "data-testid": "prop-default-computed", onchange: (ev) => {
      if (ev.target.checked) {
        const was = f.default;
        f.default = { expr: typeof was === "number" || typeof was === "boolean" ? String(was)
          : typeof was === "string" && was ? `'${was.replace(/'/g, "")}'` : ["date", "datetime"].includes(f.type) ? "TODAY()" : "1" };
      }
      else delete f.default;
      renderCanvas(); markDirty(); renderPanel();
    } }), "computed (expression)");
    if (computed) {
      const fp = pathOf.get(f) || "";
      return h("div", {}, toggle, exprEditor(f.default, "expr", "default-expr", f, `${fp}${fp ? "." : ""}default.expr`));
    }
    return h("div", {}, toggle, input(f, "default", fieldSchema.default, true));
  }

  function input(obj, prop, schema, plain = false) {
    const value = obj[prop];
    const testid = `prop-${prop}`;
    if (EXPR_PROPS.includes(prop)) return exprEditor(obj, prop);
    if (prop === "options") return optionsEditor(obj);
    if (prop === "default" && !plain && obj !== model) return defaultEditor(obj);
    if (prop === "type") {
      return h("select", { "data-testid": testid, onchange: (ev) => { obj.type = ev.target.value; if (obj.type === "subtable" && !obj.fields) obj.fields = []; setProp(obj, "type", obj.type); renderPanel(); } },
        Object.keys(types).sort().map((n) => h("option", { value: n, selected: n === value }, `${types[n].label} (${n})`)));
    }
    if (schema && schema.type === "boolean") {
      return h("input", { type: "checkbox", checked: !!value, "data-testid": testid, onchange: (ev) => setProp(obj, prop, ev.target.checked || undefined) });
    }
    if (schema && schema.enum) {
      return h("select", { "data-testid": testid, onchange: (ev) => setProp(obj, prop, ev.target.value || undefined) },
        h("option", { value: "" }, "—"), schema.enum.map((v) => h("option", { value: v, selected: v === value }, v)));
    }
    if (schema && schema.type === "array" && schema.items && schema.items.enum) {
      const chosen = new Set(value || []);
      return h("div.checks", {}, schema.items.enum.map((v) => h("label.inline", {}, h("input", { type: "checkbox", checked: chosen.has(v), onchange: (ev) => {
        ev.target.checked ? chosen.add(v) : chosen.delete(v);
        setProp(obj, prop, schema.items.enum.filter((x) => chosen.has(x)));
      } }), v)));
    }
    const isText = schema && schema.$ref && schema.$ref.endsWith("/text");
    const shown = isText ? text(value) : value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    const el = h("input", { value: shown, "data-testid": testid, spellcheck: "false" });
    if (prop === "to") el.setAttribute("list", "dl-forms");
    if (["display", "relation", "field", "over"].includes(prop)) el.setAttribute("list", `dl-${prop}`); // offered names (see suggestions)
    el.addEventListener("input", () => {
      const raw = el.value;
      let v = raw;
      if (raw === "") v = undefined;
      else if (isText && value && typeof value === "object") v = { ...value, "zh-CN": raw };
      else if (schema && (schema.type === "integer")) v = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      else if (schema && Array.isArray(schema.type) && schema.type.includes("number")) v = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      else if (prop === "default") v = raw === "true" ? true : raw === "false" ? false : /^-?\d+(\.\d+)?$/.test(raw.trim()) && !["text", "textarea", "select", "radio", "phone", "id_card"].includes(obj.type) ? Number(raw.trim()) : raw;
      if (prop === "key") {
        el.classList.toggle("invalid", !KEY_RE.test(raw));
      }
      obj[prop] = v;
      if (v === undefined) delete obj[prop];
      renderCanvas();
      markDirty();
    });
    return el;
  }

  // the form's rights per role: create, and the read / update / delete scope (admins may always do everything)
  function permissionsEditor() {
    const scopes = meta.schemas.form.properties.permissions.additionalProperties.properties.read.enum;
    const rights = model.permissions && typeof model.permissions === "object" ? model.permissions : {};
    const names = [...new Set([...roles, ...Object.keys(rights)])];
    const set = (role, prop, value) => {
      const perms = { ...(model.permissions || {}) };
      const r = { ...(perms[role] || {}) };
      if (value === undefined || value === false || value === "none") delete r[prop]; else r[prop] = value;
      if (Object.keys(r).length) perms[role] = r; else delete perms[role];
      setProp(model, "permissions", Object.keys(perms).length ? perms : undefined);
    };
    return h("table.rights", { "data-testid": "form-permissions" },
      h("tr", {}, ["role", "create", "read", "update", "delete", "unmask"].map((x) => h("th", { title: x === "unmask" ? "see fields marked mask in full" : "" }, x))),
      names.map((role) => h("tr", { "data-role": role }, h("td", {}, role === "*" ? "everyone" : role),
        h("td", {}, h("input", { type: "checkbox", checked: !!rights[role]?.create, "data-testid": `perm-${role}-create`,
          onchange: (ev) => set(role, "create", ev.target.checked) })),
        ["read", "update", "delete"].map((action) => h("td", {}, h("select", { "data-testid": `perm-${role}-${action}`,
          onchange: (ev) => set(role, action, ev.target.value) },
          scopes.map((sc) => h("option", { value: sc, selected: (rights[role]?.[action] || "none") === sc }, sc))))),
        h("td", {}, h("input", { type: "checkbox", checked: !!rights[role]?.unmask, "data-testid": `perm-${role}-unmask`,
          onchange: (ev) => set(role, "unmask", ev.target.checked) })))));
  }

  // a list of this form's field keys, chosen by ticking (kept in field order; keys set by hand stay)
  function keyChecks(prop, keys) {
    const chosen = new Set(Array.isArray(model[prop]) ? model[prop] : []);
    const all = [...keys, ...[...chosen].filter((k) => !keys.includes(k))];
    return h("div.checks", { "data-testid": `prop-${prop}` }, all.map((k) => h("label.inline", {}, h("input", { type: "checkbox", checked: chosen.has(k),
      "data-testid": `prop-${prop}-${k}`, onchange: (ev) => {
        if (ev.target.checked) chosen.add(k); else chosen.delete(k);
        setProp(model, prop, all.filter((x) => chosen.has(x)));
      } }), k)));
  }
  const splitKeys = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);
  // form-level checks: an expression that must hold, the message, the fields it is shown on
  function validationsEditor() {
    const list = Array.isArray(model.validations) ? model.validations : [];
    return h("div.validations", { "data-testid": "validations" }, list.map((v, i) => h("div.validation", { "data-testid": `validation-${i}` },
      h("div.validation-head", {}, h("span.prop-name", {}, `check ${i + 1}: must hold`),
        h("button.delete", { title: "Remove check", "data-testid": `validation-remove-${i}`, onclick: () => {
          list.splice(i, 1); setProp(model, "validations", list.length ? list : undefined); renderPanel(); } }, "×")),
      exprEditor(v, "expr", `validation-expr-${i}`, model, `validations[${i}].expr`),
      h("label", {}, "message", h("input", { value: text(v.message), "data-testid": `validation-message-${i}`, oninput: (ev) => {
        v.message = typeof v.message === "object" && v.message ? { ...v.message, "zh-CN": ev.target.value } : ev.target.value; markDirty(); } })),
      h("label", {}, "shown on fields", h("input", { value: (v.fields || []).join(", "), placeholder: "amount, needed_by", "data-testid": `validation-fields-${i}`,
        oninput: (ev) => { const k = splitKeys(ev.target.value); if (k.length) v.fields = k; else delete v.fields; markDirty(); } })))),
    h("button.small", { "data-testid": "validation-add", onclick: () => {
      setProp(model, "validations", [...list, { expr: "true", message: "" }]); renderPanel(); } }, "+ check"));
  }
  function relatedEditor() {
    const list = Array.isArray(model.related_lists) ? model.related_lists : [];
    const edit = (r, k, v) => { if (v === undefined || v === "" || (Array.isArray(v) && !v.length)) delete r[k]; else r[k] = v; markDirty(); };
    return h("div.related-lists", { "data-testid": "related-lists" }, list.map((r, i) => h("div.related", { "data-testid": `related-${i}` },
      h("label", {}, "form", h("select", { "data-testid": `related-form-${i}`, onchange: (ev) => { edit(r, "form", ev.target.value); } },
        [...new Set([...(r.form ? [r.form] : []), ...formKeys])].map((k) => h("option", { value: k, selected: k === r.form }, k)))),
      h("label", {}, "its field pointing here", h("input", { value: r.field || "", "data-testid": `related-field-${i}`, oninput: (ev) => edit(r, "field", ev.target.value.trim()) })),
      h("label", {}, "label", h("input", { value: text(r.label), "data-testid": `related-label-${i}`, oninput: (ev) => edit(r, "label", ev.target.value) })),
      h("label", {}, "columns", h("input", { value: (r.columns || []).join(", "), "data-testid": `related-columns-${i}`, oninput: (ev) => edit(r, "columns", splitKeys(ev.target.value)) })),
      h("button.delete", { title: "Remove list", "data-testid": `related-remove-${i}`, onclick: () => {
        list.splice(i, 1); setProp(model, "related_lists", list.length ? list : undefined); renderPanel(); } }, "×"))),
    h("button.small", { "data-testid": "related-add", onclick: () => {
      setProp(model, "related_lists", [...list, { form: formKeys.find((k) => k !== model.key) || "", field: "" }]); renderPanel(); } }, "+ related list"));
  }

  // names a relation, lookup or rollup option may take: the target form's fields, this form's relations and sub-tables
  function suggestions(f) {
    const fieldsOf = (form) => (form === model.key ? model.fields.map((x) => x.key) : otherForms[form] || []);
    const siblings = siblingsOf(f);
    const relation = siblings.find((x) => x.key === f.relation && x.type === "relation");
    const relations = siblings.filter((x) => x.type === "relation" && !x.many).map((x) => x.key);
    const back = Object.entries(otherRelations).flatMap(([form, rels]) => rels.filter((r) => r.to === model.key).map((r) => `${form}.${r.key}`));
    return {
      display: f.type === "relation" ? fieldsOf(f.to) : [],
      relation: relations,
      field: f.type === "lookup" ? fieldsOf(relation?.to) : f.type === "rollup" ? (siblings.find((x) => x.key === f.over)?.fields || []).map((x) => x.key).concat(f.over?.includes(".") ? fieldsOf(f.over.split(".")[0]) : []) : [],
      over: [...model.fields.filter((x) => x.type === "subtable").map((x) => x.key), ...back],
    };
  }

  function renderPanel() {
    exprErrorEls.clear();
    if (!selected) {
      const schema = meta.schemas.form.properties;
      const keys = model.fields.filter((f) => !(types[f.type] || {}).layout_only).map((f) => f.key);
      const title = h("select", { "data-testid": "prop-title_field", onchange: (ev) => setProp(model, "title_field", ev.target.value || undefined) },
        h("option", { value: "" }, "—"), keys.map((k) => h("option", { value: k, selected: k === model.title_field }, k)));
      const people = model.fields.filter((f) => (f.type === "user" && !f.many) || f.type === "lookup").map((f) => f.key);
      const owner = h("select", { "data-testid": "prop-owner_field", onchange: (ev) => setProp(model, "owner_field", ev.target.value || undefined) },
        h("option", { value: "" }, "— (whoever created the record)"),
        [...new Set([...people, ...(model.owner_field ? [model.owner_field] : [])])].map((k) => h("option", { value: k, selected: k === model.owner_field }, k)));
      panel.replaceChildren(h("h3", {}, "Form"),
        h("label", { "data-prop": "key" }, "key", input(model, "key", schema.key)),
        h("label", { "data-prop": "label" }, "label", input(model, "label", schema.label)),
        h("label", { "data-prop": "description" }, "description", input(model, "description", schema.description)),
        h("label", { "data-prop": "icon" }, "icon", input(model, "icon", schema.icon)),
        h("label", { "data-prop": "title_field" }, "title field", title),
        h("label", { "data-prop": "owner_field" }, "owner field", owner),
        h("label.inline", { "data-prop": "audit_reads" }, input(model, "audit_reads", schema.audit_reads), "audit reads (log every full view of a record)"),
        h("div", { "data-prop": "search_fields" }, h("span.prop-name", {}, "searched by"), keyChecks("search_fields", keys)),
        h("div", { "data-prop": "list_columns" }, h("span.prop-name", {}, "list columns"), keyChecks("list_columns", keys)),
        h("h4", {}, "Checks across fields"), validationsEditor(),
        h("h4", {}, "Related lists (records of other forms pointing here)"), relatedEditor(),
        h("h4", {}, "Who may do what"), permissionsEditor(),
        h("p.muted", {}, "Select a field on the canvas to edit it."));
      return;
    }
    const f = selected;
    const t = types[f.type] || { options: [] };
    let props = t.layout_only ? ["key", "type", "label"] : t.computed ? ["key", "type", "label", "help", "visible_if"] : COMMON;
    props = [...props, ...t.options.filter((o) => o !== "fields" && !props.includes(o))];
    // options every value field takes (forms_engine's common options): a message for the pattern, masking
    if (props.includes("pattern")) props.splice(props.indexOf("pattern") + 1, 0, "pattern_message");
    if (!t.layout_only && !t.computed && f.type !== "subtable") props.push("mask");
    for (const p of Object.keys(f)) if (!props.includes(p) && p !== "fields" && fieldSchema[p]) props.push(p); // set by hand: still shown
    const rows = props.map((p) => h("label", { "data-prop": p }, h("span.prop-name", { title: fieldSchema[p]?.description || "" }, p), input(f, p, fieldSchema[p])));
    const errs = errors.filter((e) => e.file === path && pathOf.get(f) && (e.path === pathOf.get(f) || e.path.startsWith(pathOf.get(f) + ".")));
    panel.replaceChildren(h("h3", {}, `${t.label || f.type} field`), ...rows,
      h("datalist", { id: "dl-forms" }, formKeys.map((k) => h("option", { value: k }))),
      ...Object.entries(suggestions(f)).map(([prop, names]) => h("datalist", { id: `dl-${prop}` }, names.map((k) => h("option", { value: k })))),
      h("div.field-errors", {}, errs.map((e) => h("div.card-error", {}, `${e.path}: ${e.message}`))));
    markErrors();
  }

  // -- preview ------------------------------------------------------------------------------------------------
  // The real form: the server renders the draft with the generated create page's markup and form.js drives it
  // against the draft (conditions, formulas, validation, relation pickers, region cascades); nothing is saved.
  let previewShown = null, previewDraft = null;
  async function renderPreview() {
    const note = h("p.preview-errors.error", { "data-testid": "preview-errors" });
    if (!previewShown) {
      previewShown = h("iframe.preview-frame", { "data-testid": "preview-frame", title: "Form preview" });
      previewShown.addEventListener("load", () => { previewShown.dataset.loaded = "1"; });
    }
    if (!preview.contains(previewShown)) preview.replaceChildren(note, previewShown);
    const errorsEl = preview.querySelector(".preview-errors");
    const draft = JSON.stringify(model);
    if (draft === previewDraft) return;  // unchanged: keep what was typed into the preview
    previewDraft = draft;
    previewShown.dataset.loaded = "0";  // until the new draft's page has loaded
    try {
      const html = await call("POST", `/api/designer/apps/${encodeURIComponent(app)}/form-preview`, { path, data: model });
      errorsEl.textContent = "";
      previewShown.srcdoc = html;
    } catch (err) {
      previewDraft = null;
      previewShown.dataset.loaded = previewShown.srcdoc ? "1" : "0";  // the last working state stays
      errorsEl.textContent = err.details?.length
        ? `The form has ${err.details.length} problem(s); the preview shows the last working state.` : err.message;
    }
  }
  const refreshPreview = debounce(renderPreview, 400);

  // -- start --------------------------------------------------------------------------------------------------
  try {
    const { files } = await (await import("./api.js")).get(`/api/designer/apps/${encodeURIComponent(app)}/files`);
    formKeys.push(...files.filter((x) => x.kind === "form" && x.key).map((x) => x.key));
    try {
      const { datasets } = await (await import("./api.js")).get(`/api/designer/apps/${encodeURIComponent(app)}/datasets?without=${encodeURIComponent(path)}`);
      for (const d of datasets.filter((x) => x.group === "form")) {
        const own = d.fields.filter((x) => !x.name.includes("."));
        otherForms[d.name] = own.map((x) => x.name);
        otherRelations[d.name] = own.filter((x) => x.type === "relation" && x.target).map((x) => ({ key: x.name, to: x.target }));
      }
    } catch (_) { /* suggestions only */ }
    if (files.some((x) => x.path === "org.yaml")) {
      roles.push(...((await (await import("./api.js")).get(`/api/designer/apps/${encodeURIComponent(app)}/files/org.yaml`)).data?.roles || []).map((r) => r.key), "*");
    }
  } catch (_) { /* completion of relation targets and roles is a convenience */ }
  renderCanvas();
  renderPanel();
  toolbar.showErrors(errors);
  session.watch();
}
