// The automation editor: when → if → then as blocks. The trigger block, the condition (completed and checked as
// you type), and the actions dragged in from a palette, reordered by dragging, each edited in its block.
import { debounce, fileUrl, get, h, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const TRIGGERS = ["record", "flow", "schedule", "date", "button"];
export const ACTIONS = ["set", "create", "update", "start_flow", "notify", "webhook"];
export const ACTION_LABEL = { set: "Set fields", create: "Create record", update: "Update records", start_flow: "Start flow",
  notify: "Notify", webhook: "Webhook" };

// create … for_each: one record per sub-table row, per number up to a count, per list item, per instalment
const EACH = ["rows", "count", "list", "schedule"];
const EACH_LABEL = { rows: "row of a sub-table", count: "number up to a count", list: "item of a list", schedule: "instalment of a schedule" };
const SCHEDULE_PARTS = ["principal", "annual_rate", "months", "method"];
const SCHEDULE_ITEM = ["period", "payment", "principal", "interest", "balance"];
export function eachMode(each) { return each && typeof each === "object" ? EACH.find((k) => each[k] !== undefined) || "" : ""; }

export function triggerOf(when) { return TRIGGERS.find((t) => when && when[t] !== undefined) || "record"; }

export function newAction(type, formKey, flows) {
  switch (type) {
    case "set": return { set: {} };
    case "create": return { create: { form: formKey || "", values: {} } };
    case "update": return { update: { form: formKey || "", match: {}, set: {} } };
    case "start_flow": return { start_flow: flows[0] || "" };
    case "notify": return { notify: { to: { fields: ["owner"] }, title: "" } };
    default: return { webhook: { url: "https://" } };
  }
}

export async function mountAutomationEditor(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const model = file.data;
  if (!model || typeof model !== "object" || Array.isArray(model)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as an automation. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  if (!model.when || typeof model.when !== "object") model.when = { record: "created" };
  if (!Array.isArray(model.then)) model.then = [];
  const functions = meta.functions.map((f) => f.name);
  let errors = file.errors;
  let forms = {}; // form key → [{key, type}]
  const subtables = {}; // form key → {sub-table key → [its field keys]}
  let flows = [];
  let roles = [];

  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: () => {},
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; markErrors(); };
  const palette = h("div.palette.au-palette", { "data-testid": "au-palette" });
  const whenBox = h("section.au-block.au-when", { "data-testid": "au-when", "data-path": "when" });
  const ifBox = h("section.au-block.au-if", { "data-testid": "au-if", "data-path": "if" });
  const thenList = h("div.au-then", { "data-testid": "au-then" });
  const head = h("div.au-head");
  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.automation-editor", {}, palette,
      h("div.au-blocks", {}, head, h("h4", {}, "When"), whenBox, h("h4", {}, "If"), ifBox,
        h("h4", {}, "Then — drag actions here, drag to reorder"), thenList)),
    toolbar.problems);

  const changed = (rerender = true) => { session.dirty = true; toolbar.status("Unsaved changes"); if (rerender) render(); live(); };
  const live = debounce(async () => {
    try { errors = (await session.check({ data: model })).errors; markErrors(); } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);
  async function save() {
    const saved = await session.save({ data: model });
    if (saved) { errors = saved.errors; markErrors(); }
  }

  const kit = actionKit({ functions, changed: (r) => changed(r), forms: () => forms, flows: () => flows, subtables: () => subtables,
    formKey: () => model.when.form, idPrefix: "au-action", pathPrefix: "then", remove: (i) => { model.then.splice(i, 1); changed(); } });
  const { fieldsOf, formKey, list, parseList, select, textIn, exprIn, recordNames, actionBlock } = kit;

  // -- blocks -------------------------------------------------------------------------------------------------
  function renderWhen() {
    const w = model.when;
    const kind = triggerOf(w);
    const row = (label, el) => h("label.inline.au-field", {}, h("span.prop-name", {}, label), el);
    const parts = [row("trigger", select(TRIGGERS, kind, (v) => {
      const form = w.form || Object.keys(forms)[0];
      model.when = v === "record" ? { record: "created", form } : v === "flow" ? { flow: flows[0] || "", event: "finished" }
        : v === "schedule" ? { schedule: { every: "day", at: "08:00" } } : v === "date" ? { date: "", form, days_before: 1, at: "09:00" }
          : { button: "run", form, label: "Run" };
      changed();
    }, "au-trigger"))];
    const formSel = (blank) => row("form", select(Object.keys(forms), w.form, (v) => { if (v) w.form = v; else delete w.form; changed(); }, "au-form", blank));
    if (kind === "record") {
      parts.push(row("event", select(["created", "updated", "deleted", "saved"], w.record, (v) => { w.record = v; changed(); }, "au-record-event")), formSel(false),
        row("changed", h("input", { value: list(w.changed), "data-testid": "au-changed", list: "au-fields", oninput: (ev) => {
          const v = parseList(ev.target.value); if (!v.length) delete w.changed; else w.changed = v.length === 1 ? v[0] : v; changed(false); } })),
        row("from", textIn(w, "from", "au-from")), row("to", textIn(w, "to", "au-to")));
    } else if (kind === "flow") {
      parts.push(row("flow", select(flows, w.flow, (v) => { w.flow = v; changed(); }, "au-flow")),
        row("event", select(["started", "entered", "left", "finished"], w.event, (v) => { w.event = v; changed(); }, "au-flow-event", true)),
        row("node", textIn(w, "node", "au-node")), row("outcome", textIn(w, "outcome", "au-outcome")));
    } else if (kind === "schedule") {
      const s = (w.schedule ||= { every: "day" });
      parts.push(row("every", select(["hour", "day", "week", "month"], s.every, (v) => { s.every = v; changed(); }, "au-every")),
        row("on", textIn(s, "on", "au-on", { placeholder: "mon / 1" })), row("at", textIn(s, "at", "au-at", { placeholder: "08:00" })),
        formSel(true), row("where", exprIn(w, "where", "au-where", recordNames)));
    } else if (kind === "date") {
      const dates = fieldsOf(w.form).filter((f) => ["date", "datetime"].includes(f.type)).map((f) => f.key);
      parts.push(formSel(false), row("date field", select(dates, w.date, (v) => { w.date = v; changed(); }, "au-date")),
        row("days before", textIn(w, "days_before", "au-days-before", { number: true })),
        row("days after", textIn(w, "days_after", "au-days-after", { number: true })),
        row("at", textIn(w, "at", "au-at")), row("where", exprIn(w, "where", "au-where", recordNames)));
    } else {
      parts.push(row("button", textIn(w, "button", "au-button")), formSel(false), row("label", textIn(w, "label", "au-button-label")),
        row("roles", h("input", { value: list(w.roles), "data-testid": "au-roles", oninput: (ev) => { const v = parseList(ev.target.value); if (v.length) w.roles = v; else delete w.roles; changed(false); } })));
    }
    whenBox.replaceChildren(h("div.au-fields-row", {}, parts), h("datalist", { id: "au-fields" }, recordNames().map((n) => h("option", { value: n }))),
      h("div.au-errors"));
  }

  function renderIf() {
    ifBox.replaceChildren(exprIn(model, "if", "au-if-expr", () => [...recordNames(), "before", "trigger", "current_user"]),
      h("small.muted", {}, "empty: always"), h("div.au-errors"));
  }


  function render() {
    head.replaceChildren(h("label.inline", {}, "key ", textIn(model, "key", "au-key")),
      h("label.inline", {}, "label ", h("input", { value: text(model.label), "data-testid": "au-label", oninput: (ev) => {
        model.label = typeof model.label === "object" && model.label ? { ...model.label, "zh-CN": ev.target.value } : ev.target.value; changed(false); } })),
      h("label.inline", {}, "description ", textIn(model, "description", "au-description")),
      h("label.inline", {}, h("input", { type: "checkbox", checked: model.enabled !== false, "data-testid": "au-enabled",
        onchange: (ev) => { if (ev.target.checked) delete model.enabled; else model.enabled = false; changed(false); } }), "enabled"),
      h("datalist", { id: "au-roles-list" }, roles.map((r) => h("option", { value: r }))));
    renderWhen();
    renderIf();
    thenList.replaceChildren(...model.then.map(actionBlock));
    markErrors();
  }

  function markErrors() {
    const mine = errors.filter((e) => e.file === path);
    for (const block of root.querySelectorAll(".au-block")) {
      const p = block.dataset.path;
      const hits = mine.filter((e) => (e.path || "") === p || (e.path || "").startsWith(`${p}.`) || (e.path || "").startsWith(`${p}[`));
      block.classList.toggle("has-error", hits.length > 0);
      block.querySelector(":scope > .au-errors")?.replaceChildren(...hits.map((e) => h("div.card-error", {}, `${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`)));
    }
    toolbar.showErrors(errors);
  }

  // -- palette and dragging -----------------------------------------------------------------------------------
  const paletteList = h("div.palette-list.au-actions", {}, ACTIONS.map((t) => h("div.palette-item", { "data-action": t, "data-testid": `au-palette-${t}` }, ACTION_LABEL[t], h("small", {}, t))));
  palette.replaceChildren(h("h4", {}, "Actions"), paletteList);
  new Sortable(paletteList, { group: { name: "actions", pull: "clone", put: false }, sort: false, forceFallback: true, fallbackOnBody: true });
  new Sortable(thenList, { group: { name: "actions", pull: false, put: true }, forceFallback: true, fallbackOnBody: true,
    handle: ".au-action-head", draggable: ".au-action, .palette-item", animation: 0, emptyInsertThreshold: 20,
    onAdd: (ev) => { const t = ev.item.dataset.action; ev.item.remove(); model.then.splice(ev.newIndex, 0, newAction(t, formKey(), flows)); changed(); },
    onUpdate: (ev) => { const [moved] = model.then.splice(ev.oldIndex, 1); model.then.splice(ev.newIndex, 0, moved); changed(); } });

  // -- start --------------------------------------------------------------------------------------------------
  try {
    const { files } = await get(`/api/designer/apps/${encodeURIComponent(app)}/files`);
    flows = files.filter((f) => f.kind === "flow" && f.key).map((f) => f.key);
    const { datasets } = await get(`/api/designer/apps/${encodeURIComponent(app)}/datasets`);
    for (const d of datasets.filter((x) => x.group === "form")) {
      forms[d.name] = d.fields.filter((f) => !f.name.includes(".")).map((f) => ({ key: f.name, type: f.type }));
    }
    for (const d of datasets.filter((x) => x.group === "subtable")) {
      const [form, sub] = d.name.split(".");
      (subtables[form] ||= {})[sub] = d.fields.filter((f) => !f.name.includes(".")).map((f) => f.name);
    }
    if (files.some((x) => x.path === "org.yaml")) roles = ((await get(fileUrl(app, "org.yaml"))).data?.roles || []).map((r) => r.key);
  } catch (_) { /* the lists are a convenience: names can be typed */ }
  render();
  toolbar.showErrors(errors);
  session.watch();
}


// The blocks of actions (set, create … for_each, update, start_flow, notify, webhook) and their small inputs, shared
// by the automation editor and the flow designer's automation nodes. ``ctx``: functions (names completed), changed
// (rerender?), forms / flows / subtables (getters: the app's lists), formKey (the record's form), idPrefix and
// pathPrefix (test ids and error paths of the blocks), remove(i).
export function actionKit(ctx) {
  // -- small inputs -------------------------------------------------------------------------------------------
  const fieldsOf = (formKey) => ctx.forms()[formKey] || [];
  const formKey = () => ctx.formKey();
  const list = (values) => (Array.isArray(values) ? values.join(", ") : values ?? "");
  const parseList = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
  function select(values, current, onchange, testid, blank = false) {
    return h("select", { "data-testid": testid, onchange: (ev) => onchange(ev.target.value) },
      blank ? h("option", { value: "" }, "—") : "",
      [...new Set([...(current && !values.includes(current) ? [current] : []), ...values])].map((v) => h("option", { value: v, selected: v === current }, v)));
  }
  function textIn(obj, prop, testid, { number = false, placeholder = "", rerender = false } = {}) {
    return h("input", { value: obj[prop] ?? "", placeholder, "data-testid": testid, type: number ? "number" : "text",
      oninput: (ev) => {
        const v = ev.target.value;
        if (v === "") delete obj[prop]; else obj[prop] = number ? Number(v) : v;
        ctx.changed(rerender);
      } });
  }
  // an expression input that completes field and function names (↑/↓, Enter or Tab)
  function exprIn(obj, prop, testid, names, set = (v) => { if (v === "") delete obj[prop]; else obj[prop] = v; }) {
    const input = h("input.expr", { value: obj[prop] ?? "", spellcheck: "false", autocomplete: "off", "data-testid": testid });
    const menu = h("ul.complete", { hidden: true, "data-testid": `${testid}-complete` });
    let items = [];
    let active = 0;
    const word = () => (input.value.slice(0, input.selectionStart).match(/[A-Za-z_][A-Za-z0-9_.]*$/) || [""])[0];
    const accept = (name) => {
      const w = word();
      const start = input.selectionStart - w.length;
      const insert = ctx.functions.includes(name) ? `${name}(` : name;
      input.value = input.value.slice(0, start) + insert + input.value.slice(input.selectionStart);
      input.setSelectionRange(start + insert.length, start + insert.length);
      menu.hidden = true;
      set(input.value);
      ctx.changed(false);
    };
    input.addEventListener("input", () => {
      set(input.value);
      ctx.changed(false);
      const w = word().toLowerCase();
      items = w ? [...names(), ...ctx.functions].filter((n) => n.toLowerCase().startsWith(w) && n.toLowerCase() !== w).slice(0, 8) : [];
      active = 0;
      menu.replaceChildren(...items.map((n, i) => h(`li${i ? "" : ".active"}`, { onmousedown: (ev) => { ev.preventDefault(); accept(n); } },
        n, h("small", {}, ctx.functions.includes(n) ? " function" : " field"))));
      menu.hidden = !items.length;
    });
    input.addEventListener("keydown", (ev) => {
      if (menu.hidden) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        [...menu.children].forEach((li, i) => li.classList.toggle("active", i === active));
      } else if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); accept(items[active]); } else if (ev.key === "Escape") menu.hidden = true;
    });
    input.addEventListener("blur", () => setTimeout(() => { menu.hidden = true; }, 150));
    return h("div.expr-box", {}, input, menu);
  }
  const recordNames = () => fieldsOf(formKey()).map((f) => f.key);
  // field → expression rows (set, create values, update match/set, webhook body)
  function mapping(obj, prop, testid, keyNames, valueNames) {
    if (!obj[prop] || typeof obj[prop] !== "object") obj[prop] = {};
    const m = obj[prop];
    const rows = Object.entries(m).map(([k, v], i) => {
      const key = h("input.au-key", { value: k, "data-testid": `${testid}-key-${i}`, list: `${testid}-keys` });
      key.addEventListener("change", () => {
        const entries = Object.entries(m);
        entries[i][0] = key.value.trim();
        for (const x of Object.keys(m)) delete m[x];
        for (const [a, b] of entries) if (a) m[a] = b;
        ctx.changed();
      });
      const value = exprIn({ v: v === null || v === undefined ? "" : String(v) }, "v", `${testid}-value-${i}`, valueNames,
        (x) => { m[k] = x; });
      return h("div.au-row", {}, key, h("span", {}, "="), value,
        h("button.delete", { title: "Remove", onclick: () => { delete m[k]; ctx.changed(); } }, "×"));
    });
    return h("div.au-mapping", { "data-testid": testid }, rows,
      h("datalist", { id: `${testid}-keys` }, keyNames().map((n) => h("option", { value: n }))),
      h("button.small", { "data-testid": `${testid}-add`, onclick: () => {
        let n = 1; while (`field_${n}` in m) n++;
        const free = keyNames().find((x) => !(x in m));
        m[free || `field_${n}`] = "";
        ctx.changed();
      } }, "+ value"));
  }

  // the names an action's values may use for the current item of its for_each
  function itemNames(each) {
    const mode = eachMode(each);
    if (mode === "rows") return [...(ctx.subtables()[formKey()]?.[each.rows] || []).map((k) => `item.${k}`), "index"];
    if (mode === "schedule") return [...SCHEDULE_ITEM.map((k) => `item.${k}`), "index"];
    return mode ? ["item", "index"] : [];
  }
  function eachEditor(body, tid) {
    const mode = eachMode(body.for_each);
    const each = body.for_each;
    const keep = (obj, prop) => (v) => { obj[prop] = v; };
    const box = h("div.au-each", { "data-testid": `${tid}-each-box` }, h("label.inline", {}, "once, or one record per ",
      h("select", { "data-testid": `${tid}-each`, onchange: (ev) => {
        const m = ev.target.value;
        if (!m) delete body.for_each;
        else if (m === "rows") body.for_each = { rows: Object.keys(ctx.subtables()[formKey()] || {})[0] || "" };
        else if (m === "schedule") body.for_each = { schedule: { principal: "", annual_rate: "", months: "" } };
        else body.for_each = { [m]: "" };
        ctx.changed();
      } }, h("option", { value: "" }, "— (one record)"), EACH.map((m) => h("option", { value: m, selected: m === mode }, EACH_LABEL[m])))));
    if (mode === "rows") {
      box.append(h("label.inline", {}, "sub-table ", select(Object.keys(ctx.subtables()[formKey()] || {}), each.rows, (v) => { each.rows = v; ctx.changed(); }, `${tid}-each-rows`)));
    } else if (mode === "count" || mode === "list") {
      if (typeof each[mode] === "number") each[mode] = String(each[mode]);
      box.append(h("label.inline", {}, mode === "count" ? "count " : "list ", exprIn(each, mode, `${tid}-each-${mode}`, recordNames, keep(each, mode))));
    } else if (mode === "schedule") {
      const sched = (each.schedule && typeof each.schedule === "object") ? each.schedule : (each.schedule = {});
      for (const k of SCHEDULE_PARTS) {
        if (typeof sched[k] === "number") sched[k] = String(sched[k]);
        box.append(h("label.inline", {}, `${k.replace("_", " ")} `, exprIn(sched, k, `${tid}-each-${k}`, recordNames,
          k === "method" ? (v) => { if (v === "") delete sched.method; else sched.method = v; } : keep(sched, k))));
      }
      box.append(h("small.muted", {}, "method: 'equal_payment', 'equal_principal' or 'interest_first' (an expression)"));
    }
    if (mode) box.append(h("small.muted.au-each-names", {}, `values may use ${itemNames(each).join(", ")}`));
    return box;
  }

  function actionBlock(action, i) {
    const type = Object.keys(action)[0];
    const body = action[type];
    const parts = [];
    const tid = `${ctx.idPrefix}-${i}`;
    if (type === "set") parts.push(mapping(action, "set", `${tid}-set`, recordNames, recordNames));
    else if (type === "create") {
      parts.push(h("label.inline", {}, "form ", select(Object.keys(ctx.forms()), body.form, (v) => { body.form = v; ctx.changed(); }, `${tid}-form`)),
        eachEditor(body, tid),
        mapping(body, "values", `${tid}-values`, () => fieldsOf(body.form).map((f) => f.key), () => [...recordNames(), ...itemNames(body.for_each)]));
    } else if (type === "update") {
      const target = () => fieldsOf(body.form).map((f) => f.key);
      const both = () => [...target(), ...recordNames().map((n) => `record.${n}`)];
      parts.push(h("label.inline", {}, "form ", select(Object.keys(ctx.forms()), body.form, (v) => { body.form = v; ctx.changed(); }, `${tid}-form`)),
        h("div", {}, h("small.muted", {}, "match (equal values)"), mapping(body, "match", `${tid}-match`, target, both)),
        h("label.inline", {}, "where ", exprIn(body, "where", `${tid}-where`, both)),
        h("div", {}, h("small.muted", {}, "set"), mapping(body, "set", `${tid}-set`, target, both)),
        h("label.inline", {}, "limit ", textIn(body, "limit", `${tid}-limit`, { number: true })));
    } else if (type === "start_flow") {
      parts.push(select(ctx.flows(), body, (v) => { action.start_flow = v; ctx.changed(); }, `${tid}-flow`));
    } else if (type === "notify") {
      body.to ||= {};
      const who = (k, label) => h("label.inline", {}, label, h("input", { value: list(body.to[k]), "data-testid": `${tid}-${k}`,
        list: k === "roles" ? "au-roles-list" : k === "fields" ? "au-fields" : undefined,
        oninput: (ev) => { const v = parseList(ev.target.value); if (v.length) body.to[k] = v; else delete body.to[k]; ctx.changed(false); } }));
      parts.push(who("users", "users "), who("roles", "roles "), who("fields", "user fields "),
        h("label.inline", {}, "title ", textIn(body, "title", `${tid}-title`, { placeholder: "New {{title}}" })),
        h("label.inline", {}, "body ", textIn(body, "body", `${tid}-body`)));
    } else if (type === "webhook") {
      parts.push(h("label.inline", {}, "url ", textIn(body, "url", `${tid}-url`)),
        h("div", {}, h("small.muted", {}, "body"), mapping(body, "body", `${tid}-body`, () => [], recordNames)));
    } else {
      parts.push(h("code", {}, JSON.stringify(action)));
    }
    return h("div.au-block.au-action", { "data-testid": tid, "data-path": `${ctx.pathPrefix}[${i}]`, "data-type": type },
      h("div.au-action-head", {}, h("strong", {}, ACTION_LABEL[type] || type),
        h("button.delete", { title: "Remove", "data-testid": `${tid}-remove`, onclick: () => { ctx.remove(i); } }, "×")),
      ...parts, h("div.au-errors"));
  }
  return { fieldsOf, formKey, list, parseList, select, textIn, exprIn, recordNames, mapping, itemNames, eachEditor, actionBlock };
}
