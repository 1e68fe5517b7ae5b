// The flow designer: nodes dragged in, moved and connected on a Drawflow canvas; a side panel for the selected
// node (people, approval mode, time limits, field rights) or edge (condition); problems on the nodes; auto
// layout; simulate lights up the path a sample record would take.
import { debounce, fileUrl, get, h, post, text } from "./api.js";
import { ACTIONS, ACTION_LABEL, actionKit, newAction } from "./automation_editor.js";
import { FileSession, Toolbar } from "./session.js";

const NODE_TYPES = ["approval", "fill", "exclusive", "parallel", "join", "notify", "automation", "subflow", "end"];
const NODE_LABEL = { start: "Start", approval: "Approval", fill: "Fill in", exclusive: "Branch", parallel: "Parallel split",
  join: "Join", notify: "Notify (cc)", automation: "Automation", subflow: "Sub-flow", end: "End" };
const MODES = ["single", "any", "all", "sequential", "quorum"];
const RIGHTS = ["hidden", "readonly", "editable", "required"];
const PEOPLE = ["role", "users", "department", "manager_of", "field", "expr", "decision"];
const PEOPLE_HELP = { role: "everyone with a role", users: "named users", department: "everyone in a department",
  manager_of: "the manager of the initiator, a user field or (in an escalation) the assignee, levels up the departments",
  field: "the user or department a field of the record names", expr: "an expression giving a user name or a list of them",
  decision: "the people a decision table gives" };
const ESCALATIONS = ["notify_manager", "reassign", "auto_approve", "auto_reject"];
const ESCALATION_LABEL = { notify_manager: "notify the manager (notify_manager)", reassign: "reassign (reassign)",
  auto_approve: "approve (auto_approve)", auto_reject: "reject (auto_reject)", escalate_to: "reassign, written as escalate_to" };
const RETURN_TARGETS = ["previous", "initiator", "any_earlier"];
const PEOPLE_TYPES = ["approval", "fill", "notify"];
const ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

export async function mountFlowDesigner(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  if (!file.data || typeof file.data !== "object" || Array.isArray(file.data)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a flow. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  const flow = file.data;
  flow.nodes = Array.isArray(flow.nodes) ? flow.nodes : [];
  flow.edges = Array.isArray(flow.edges) ? flow.edges : [];
  let errors = file.errors;
  const functions = meta.functions.map((f) => f.name);
  let formFields = []; // [{key, type, label}]
  let decisions = []; // the app's decision table keys (people from a decision)
  const appForms = {}; // form key → [{key, type}] (an automation node's actions)
  const appSubtables = {}; // form key → {sub-table key → [field keys]}
  let appFlows = [];
  let roles = [];
  let departments = []; // [{key, label}] of org.yaml
  let orgUsers = []; // [{username, name}] of org.yaml
  const posKey = `lw-flow-pos:${app}:${path}`;
  let positions = JSON.parse(localStorage.getItem(posKey) || "{}");
  let selection = null; // {node} or {edge}
  const dfId = new Map(); // flow node id → drawflow id
  const nodeOf = new Map(); // drawflow id → flow node
  let rebuilding = false;

  // -- layout -------------------------------------------------------------------------------------------------
  const canvasEl = h("div.flow-canvas", { "data-testid": "flow-canvas" });
  const panel = h("div.panel", { "data-testid": "properties" });
  const simBox = h("div.sim", { "data-testid": "simulate-box" });
  const palette = h("div.palette.flow-palette", { "data-testid": "palette" }, h("h4", {}, "Nodes"),
    NODE_TYPES.map((t) => h("div.palette-item", { draggable: "true", "data-node-type": t, "data-testid": `palette-${t}`,
      ondragstart: (ev) => ev.dataTransfer.setData("text/plain", t), ondblclick: () => addNode(t) }, NODE_LABEL[t], h("small", {}, t))),
    h("p.muted", {}, "Drag onto the canvas (or double-click). Connect a node's right dot to another's left dot."));
  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: (e) => pick(e.path),
    extra: [h("button", { onclick: () => autoLayout(), "data-testid": "auto-layout" }, "Auto layout"),
      h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; markErrors(); };
  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.flow-designer", {}, palette, h("div.center", {}, canvasEl, simBox), panel), toolbar.problems);

  const editor = new Drawflow(canvasEl);
  editor.reroute = false;
  editor.start();

  // -- model ↔ canvas -----------------------------------------------------------------------------------------
  const ports = (type) => [type === "start" ? 0 : 1, type === "end" ? 0 : 1];
  const nodeHtml = (n) => `<div class="node-box" data-node-id="${esc(n.id)}"><b>${esc(n.name ? text(n.name) : n.id)}</b>` +
    `<div class="node-type">${esc(NODE_LABEL[n.type] || n.type)} · ${esc(n.id)}</div><div class="node-err"></div></div>`;

  function levels() {
    const out = {};
    const start = flow.nodes.find((n) => n.type === "start");
    if (!start) return out;
    const queue = [start.id];
    out[start.id] = 0;
    while (queue.length) {
      const cur = queue.shift();
      for (const e of flow.edges.filter((x) => x.from === cur)) {
        if (!(e.to in out) && flow.nodes.some((n) => n.id === e.to)) { out[e.to] = out[cur] + 1; queue.push(e.to); }
      }
    }
    return out;
  }
  function layoutPositions() {
    const lv = levels();
    const max = Math.max(0, ...Object.values(lv));
    const rows = {};
    const out = {};
    for (const n of flow.nodes) {
      const col = n.id in lv ? lv[n.id] : max + 1;
      rows[col] = (rows[col] || 0) + 1;
      out[n.id] = { x: 30 + col * 210, y: 30 + (rows[col] - 1) * 110 };
    }
    return out;
  }

  function rebuild() {
    rebuilding = true;
    editor.clear();
    dfId.clear(); nodeOf.clear();
    const auto = layoutPositions();
    for (const n of flow.nodes) {
      const p = positions[n.id] || auto[n.id];
      const [ins, outs] = ports(n.type);
      const id = editor.addNode(n.type, ins, outs, p.x, p.y, `flow-node type-${n.type}`, {}, nodeHtml(n));
      dfId.set(n.id, id); nodeOf.set(id, n);
      canvasEl.querySelector(`#node-${id}`).dataset.testid = `node-${n.id}`;
    }
    for (const e of flow.edges) {
      if (dfId.has(e.from) && dfId.has(e.to) && ports(nodeOfId(e.from).type)[1] && ports(nodeOfId(e.to).type)[0]) {
        editor.addConnection(dfId.get(e.from), dfId.get(e.to), "output_1", "input_1");
      }
    }
    rebuilding = false;
    markErrors();
  }
  const nodeOfId = (id) => flow.nodes.find((n) => n.id === id);

  function changed() { session.dirty = true; toolbar.status("Unsaved changes"); liveCheck(); }

  function newId(type) {
    let i = 1;
    while (flow.nodes.some((n) => n.id === `${type}_${i}`)) i++;
    return `${type}_${i}`;
  }
  function addNode(type, x, y) {
    const node = { id: newId(type), type };
    if (PEOPLE_TYPES.includes(type)) node.assignees = { role: roles[0] || "" };
    if (type === "approval") node.mode = "single";
    if (type === "end") node.outcome = "approved";
    if (type === "automation") node.actions = [{ set: {} }];
    flow.nodes.push(node);
    if (x !== undefined) positions[node.id] = { x, y };
    savePositions();
    rebuild();
    select({ node });
    changed();
  }
  function savePositions() { localStorage.setItem(posKey, JSON.stringify(positions)); }

  canvasEl.addEventListener("dragover", (ev) => ev.preventDefault());
  canvasEl.addEventListener("drop", (ev) => {
    ev.preventDefault();
    const type = ev.dataTransfer.getData("text/plain");
    if (!NODE_TYPES.includes(type)) return;
    const rect = editor.precanvas.getBoundingClientRect();
    addNode(type, (ev.clientX - rect.x) / editor.zoom, (ev.clientY - rect.y) / editor.zoom);
  });

  editor.on("connectionCreated", (c) => {
    if (rebuilding) return;
    const from = nodeOf.get(Number(c.output_id)).id;
    const to = nodeOf.get(Number(c.input_id)).id;
    if (!flow.edges.some((e) => e.from === from && e.to === to)) flow.edges.push({ from, to });
    changed();
  });
  editor.on("connectionRemoved", (c) => {
    if (rebuilding) return;
    const from = nodeOf.get(Number(c.output_id))?.id;
    const to = nodeOf.get(Number(c.input_id))?.id;
    flow.edges = flow.edges.filter((e) => !(e.from === from && e.to === to));
    if (selection?.edge && selection.edge.from === from && selection.edge.to === to) select(null);
    changed();
  });
  editor.on("nodeRemoved", (id) => {
    if (rebuilding) return;
    const n = nodeOf.get(Number(id));
    if (!n) return;
    flow.nodes = flow.nodes.filter((x) => x !== n);
    flow.edges = flow.edges.filter((e) => e.from !== n.id && e.to !== n.id);
    nodeOf.delete(Number(id)); dfId.delete(n.id);
    select(null);
    changed();
  });
  editor.on("nodeMoved", (id) => {
    const n = nodeOf.get(Number(id));
    const d = editor.getNodeFromId(id);
    positions[n.id] = { x: d.pos_x, y: d.pos_y };
    savePositions();
  });
  editor.on("nodeSelected", (id) => { const n = nodeOf.get(Number(id)); if (n) select({ node: n }, false); });
  editor.on("connectionSelected", (c) => {
    const from = nodeOf.get(Number(c.output_id))?.id;
    const to = nodeOf.get(Number(c.input_id))?.id;
    const edge = flow.edges.find((e) => e.from === from && e.to === to);
    if (edge) select({ edge }, false);
  });

  function autoLayout() {
    positions = layoutPositions();
    savePositions();
    rebuild();
  }

  // -- problems on nodes and edges ----------------------------------------------------------------------------
  function targetOf(errPath) {
    let m = (errPath || "").match(/^nodes\[(\d+)\]/);
    if (m) return { node: flow.nodes[Number(m[1])] };
    m = (errPath || "").match(/^edges\[(\d+)\]/);
    if (m) return { edge: flow.edges[Number(m[1])] };
    return null;
  }
  function connectionEl(edge) {
    if (!dfId.has(edge.from) || !dfId.has(edge.to)) return null;
    return canvasEl.querySelector(`.connection.node_out_node-${dfId.get(edge.from)}.node_in_node-${dfId.get(edge.to)} .main-path`);
  }
  function markErrors() {
    canvasEl.querySelectorAll(".node-error").forEach((el) => el.classList.remove("node-error"));
    canvasEl.querySelectorAll(".edge-error").forEach((el) => el.classList.remove("edge-error"));
    canvasEl.querySelectorAll(".node-err").forEach((el) => { el.textContent = ""; });
    for (const e of errors.filter((x) => x.file === path)) {
      const t = targetOf(e.path);
      const node = t?.node || (t?.edge && (nodeOfId(t.edge.from) || nodeOfId(t.edge.to)));
      if (node && dfId.has(node.id)) {
        const el = canvasEl.querySelector(`#node-${dfId.get(node.id)}`);
        el.classList.add("node-error");
        el.querySelector(".node-err").append(`${e.path.replace(/^(nodes|edges)\[\d+\]\.?/, "") || (t.edge ? "edge" : "node")}: ${e.message} `);
      }
      if (t?.edge) connectionEl(t.edge)?.classList.add("edge-error");
    }
    toolbar.showErrors(errors);
    if (selection) renderPanel();
  }
  function pick(errPath) { const t = targetOf(errPath); if (t) select(t); }

  const liveCheck = debounce(async () => {
    try {
      const out = await session.check({ data: flow });
      errors = out.errors;
      markErrors();
    } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);

  async function save() {
    const saved = await session.save({ data: flow });
    if (saved) { errors = saved.errors; markErrors(); }
  }

  // -- side panel ---------------------------------------------------------------------------------------------
  function select(sel, highlight = true) {
    selection = sel;
    if (highlight && sel?.node && dfId.has(sel.node.id)) {
      canvasEl.querySelectorAll(".drawflow-node.selected").forEach((el) => el.classList.remove("selected"));
      canvasEl.querySelector(`#node-${dfId.get(sel.node.id)}`)?.classList.add("selected");
    }
    renderPanel();
  }

  function field(label, input, testid) { return h("label", { "data-testid": testid }, h("span.prop-name", {}, label), input); }
  // a labelled block of several controls (a <div>: a <label> would send clicks on its text to the first control)
  function block(label, content, testid) { return h("div.prop-block", { "data-testid": testid }, h("span.prop-name", {}, label), content); }
  // translatable: a text or {zh-CN: …, en: …}, edited as the form editor edits labels (its zh-CN text; the others kept)
  function textInput(obj, prop, { testid, after, list, translatable } = {}) {
    const el = h("input", { value: translatable ? text(obj[prop]) : obj[prop] ?? "", "data-testid": testid || `prop-${prop}`, list });
    el.addEventListener("input", () => {
      const was = obj[prop];
      if (el.value === "") delete obj[prop];
      else obj[prop] = translatable && was && typeof was === "object" ? { ...was, "zh-CN": el.value } : el.value;
      after?.(); changed();
    });
    return el;
  }

  function exprInput(obj, prop, testid, after) {
    const input = h("input.expr", { value: obj[prop] ?? "", spellcheck: "false", autocomplete: "off", "data-testid": testid });
    const list = h("ul.complete", { hidden: true, "data-testid": `complete-${prop}` });
    const suggest = () => {
      const word = (input.value.slice(0, input.selectionStart).match(/[A-Za-z_][A-Za-z0-9_]*$/) || [""])[0];
      const names = [...formFields.map((f) => f.key), ...functions].filter((n) => word && n.toLowerCase().startsWith(word.toLowerCase()) && n !== word).slice(0, 8);
      list.replaceChildren(...names.map((n) => h("li", { onmousedown: (ev) => {
        ev.preventDefault();
        const start = input.selectionStart - word.length;
        const ins = functions.includes(n) ? `${n}(` : n;
        input.value = input.value.slice(0, start) + ins + input.value.slice(input.selectionStart);
        obj[prop] = input.value; list.hidden = true; changed(); after?.();
      } }, n)));
      list.hidden = !names.length;
    };
    input.addEventListener("input", () => { if (input.value) obj[prop] = input.value; else delete obj[prop]; suggest(); changed(); after?.(); });
    input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
    return h("div.expr-box", {}, input, list);
  }

  // People found by rules — a node's assignees, an escalation's `to` / `escalate_to`: one rule or several (everyone
  // any of them finds). Each rule is one way of finding people (the flow meta-schema's assignee_rule): a role, users,
  // a department, the manager of someone (levels up), a person field, an expression, a decision table.
  //   value: what the file holds (a rule or a list); store(v): write it back (undefined: no rule is left);
  //   prefix: the test ids' prefix; prop: the data-prop prefix; escalation: `manager_of: assignee` is offered;
  //   optional: rules left empty are dropped instead of stored.
  function peopleEditor({ value, store, prefix, prop, escalation = false, optional = false }) {
    const asList = Array.isArray(value);
    const given = asList ? [...value] : value && typeof value === "object" ? [value] : [];
    const rules = given.length ? given : [{ role: "" }]; // no people yet: a first rule to fill in (stored once typed)
    const box = h("div.people", { "data-testid": `${prefix}-rules` });
    const empty = (r) => { const k = Object.keys(r).find((x) => PEOPLE.includes(x)); return !k || r[k] === "" || (Array.isArray(r[k]) && !r[k].length); };
    const write = () => {
      const kept = optional ? rules.filter((r) => !empty(r)) : rules;
      store(!kept.length ? undefined : kept.length === 1 && !asList ? kept[0] : kept);
    };
    const sfx = (i) => (i ? `-${i}` : "");
    const choices = (k) => k === "role" ? roles.map((r) => [r, r])
      : k === "department" ? departments.map((d) => [d.key, d.label])
      : k === "users" ? orgUsers.map((u) => [u.username, u.name])
      : k === "field" ? formFields.filter((f) => ["user", "department"].includes(f.type)).map((f) => [f.key, text(f.label)])
      : k === "manager_of" ? [["initiator", "who started the flow"], ...(escalation ? [["assignee", "the task's assignee"]] : []),
        ...formFields.filter((f) => f.type === "user").map((f) => [f.key, text(f.label)])]
      : k === "decision" ? decisions.map((d) => [d, d]) : [];
    const row = (rule, i) => {
      const ruleKeys = rule && typeof rule === "object" ? Object.keys(rule) : [];
      const simple = ruleKeys.filter((k) => PEOPLE.includes(k)).length === 1 && ruleKeys.every((k) => PEOPLE.includes(k) || (k === "levels" && "manager_of" in rule));
      const drop = rules.length > 1 ? h("button.delete", { title: "remove this rule", "data-testid": `${prefix}-remove${sfx(i)}`,
        onclick: () => { rules.splice(i, 1); write(); draw(); } }, "×") : "";
      // a rule the meta-schema refuses (two kinds at once, an unknown key): shown as it is, for the text editor
      if (!simple) return h("div.assignee-rule", {}, h("code", {}, JSON.stringify(rule)), h("span.muted", {}, " (not a valid rule: edit as text)"), drop);
      const kind = ruleKeys.find((k) => PEOPLE.includes(k));
      const kindSel = h("select", { "data-testid": `${prefix}-kind${sfx(i)}`, onchange: () => {
        const k = kindSel.value;
        rules[i] = { [k]: k === "users" ? [] : "" };
        write(); draw();
        box.querySelector(`[data-testid="${prefix}-value${sfx(i)}"]`)?.focus();
      } }, PEOPLE.map((k) => h("option", { value: k, selected: k === kind, "data-prop": `${prop}.${k}`, title: PEOPLE_HELP[k] }, k)));
      const listId = `dl-${prefix}-${i}`;
      const opts = choices(kind);
      const list = h("datalist", { id: listId }, opts.map(([v, l]) => h("option", { value: v }, l === v ? "" : l)));
      let valueEl;
      if (kind === "expr") {
        valueEl = exprInput(rule, "expr", `${prefix}-value${sfx(i)}`, () => { if (!("expr" in rule)) rule.expr = ""; write(); });
      } else if (kind === "users") {
        const raw = rule.users;
        const names = () => (Array.isArray(rule.users) ? rule.users : rule.users ? [rule.users] : []);
        const input = h("input", { value: names().join(", "), placeholder: "user names, comma separated", "data-testid": `${prefix}-value${sfx(i)}` });
        input.addEventListener("input", () => {
          const list2 = input.value.split(",").map((x) => x.trim()).filter(Boolean);
          // one user written as a plain name stays a plain name
          rule.users = typeof raw === "string" && list2.length === 1 ? list2[0] : list2;
          write();
        });
        const add = h("select", { "data-testid": `${prefix}-add-user${sfx(i)}`, onchange: () => {
          if (!add.value) return;
          const now = names();
          if (!now.includes(add.value)) rule.users = [...now, add.value];
          input.value = names().join(", "); add.value = ""; write();
        } }, h("option", { value: "" }, "+ user"), orgUsers.map((u) => h("option", { value: u.username }, `${u.username}${u.name && u.name !== u.username ? ` (${text(u.name)})` : ""}`)));
        valueEl = h("span.people-users", {}, input, add);
      } else {
        const input = h("input", { value: rule[kind] ?? "", "data-testid": `${prefix}-value${sfx(i)}`, list: listId,
          placeholder: kind === "manager_of" ? "initiator, a user field" + (escalation ? ", assignee" : "") : "" });
        input.addEventListener("input", () => { rule[kind] = input.value.trim(); write(); });
        valueEl = input;
      }
      const parts = [valueEl];
      if (kind === "manager_of") {
        const levels = h("input", { type: "number", min: 1, value: rule.levels ?? "", placeholder: "1", "data-testid": `${prefix}-levels${sfx(i)}`,
          "data-prop": `${prop}.levels`, style: "width:60px" });
        levels.addEventListener("input", () => {
          const n = parseInt(levels.value, 10);
          if (n > 1) rule.levels = n; else delete rule.levels;
          write();
        });
        parts.push(h("label.inline", {}, "levels up ", levels));
      }
      return h("div.assignee-rule", { "data-testid": `${prefix}-rule${sfx(i)}` }, kindSel, h("span.people-value", {}, ...parts), list, drop || h("span"));
    };
    const draw = () => {
      box.replaceChildren(...rules.map(row),
        h("button.small", { "data-testid": `${prefix}-add`, title: "people found by another rule too",
          onclick: () => { rules.push({ role: "" }); write(); draw(); } }, "+ or also"));
    };
    draw();
    return box;
  }
  function assigneesEditor(node) {
    return peopleEditor({ value: node.assignees, prefix: "assignee", prop: "assignee",
      store: (v) => { if (v === undefined) delete node.assignees; else node.assignees = v; changed(); renderNodeLabel(node); } });
  }
  function rightsEditor(node) {
    const rights = node.fields && typeof node.fields === "object" ? node.fields : {};
    return h("table.rights", { "data-testid": "field-rights" }, formFields.map((f) => h("tr", {},
      h("td", {}, f.key), h("td", {}, h("select", { "data-testid": `right-${f.key}`, onchange: (ev) => {
        const v = ev.target.value;
        node.fields = { ...(node.fields || {}) };
        if (v) node.fields[f.key] = v; else delete node.fields[f.key];
        if (!Object.keys(node.fields).length) delete node.fields;
        changed();
      } }, h("option", { value: "" }, "(default)"), RIGHTS.map((r) => h("option", { value: r, selected: rights[f.key] === r }, r)))))));
  }

  // an automation node's actions, in the automation editor's blocks (on the flow's record)
  function actionsEditor(n, idx) {
    if (!Array.isArray(n.actions)) n.actions = [];
    const kit = actionKit({ functions, changed: (rerender = true) => { changed(); if (rerender) renderPanel(); },
      forms: () => appForms, flows: () => appFlows, subtables: () => appSubtables, formKey: () => flow.form,
      idPrefix: "fa-action", pathPrefix: `nodes[${idx}].actions`,
      remove: (i) => { n.actions.splice(i, 1); changed(); renderPanel(); } });
    const type = h("select", { "data-testid": "fa-new-type" }, ACTIONS.map((t) => h("option", { value: t }, ACTION_LABEL[t])));
    return h("div.fa-actions", { "data-testid": "fa-actions" }, n.actions.map((a, i) => kit.actionBlock(a, i)),
      h("div.au-row", {}, type, h("button.small", { "data-testid": "fa-add", onclick: () => {
        n.actions.push(newAction(type.value, flow.form, appFlows)); changed(); renderPanel(); } }, "+ action")));
  }

  function renderNodeLabel(node) {
    const el = dfId.has(node.id) && canvasEl.querySelector(`#node-${dfId.get(node.id)} .drawflow_content_node`);
    if (el) el.innerHTML = nodeHtml(node);
  }

  function renderPanel() {
    const mine = errors.filter((e) => e.file === path);
    if (!selection) {
      panel.replaceChildren(h("h3", {}, "Flow"),
        field("key", textInput(flow, "key")), field("form", textInput(flow, "form")),
        field("label", textInput(flow, "label", { translatable: true })),
        field("description", textInput(flow, "description")),
        field("starts", h("select", { "data-testid": "prop-start_on", onchange: (ev) => {
          if (ev.target.value === "manual") delete flow.start_on; else flow.start_on = ev.target.value; changed(); } },
        [["manual", "manual (API or automation)"], ["submit", "when a record is created"]].map(([v, l]) =>
          h("option", { value: v, selected: (flow.start_on || "manual") === v }, l)))),
        h("p.muted", {}, "Select a node or an edge to edit it."));
      return;
    }
    if (selection.node) {
      const n = selection.node;
      const idx = flow.nodes.indexOf(n);
      const rows = [h("h3", {}, `${NODE_LABEL[n.type] || n.type} node`)];
      const idInput = h("input", { value: n.id, "data-testid": "prop-id" });
      idInput.addEventListener("change", () => {
        const v = idInput.value.trim();
        if (!ID_RE.test(v) || flow.nodes.some((x) => x !== n && x.id === v)) { idInput.classList.add("invalid"); return; }
        idInput.classList.remove("invalid");
        for (const e of flow.edges) { if (e.from === n.id) e.from = v; if (e.to === n.id) e.to = v; }
        if (positions[n.id]) { positions[v] = positions[n.id]; delete positions[n.id]; savePositions(); }
        n.id = v; rebuild(); select({ node: n }); changed();
      });
      rows.push(field("id", idInput), field("name", textInput(n, "name", { translatable: true, after: () => renderNodeLabel(n) })));
      if (n.type === "approval") {
        rows.push(field("mode", h("select", { "data-testid": "prop-mode", onchange: (ev) => { n.mode = ev.target.value; if (n.mode !== "quorum") delete n.quorum; changed(); renderPanel(); } },
          MODES.map((m) => h("option", { value: m, selected: (n.mode || "single") === m }, m)))));
      }
      rows.push(field("description", textInput(n, "description")));
      if (n.type === "approval" && n.mode === "quorum") {
        const q = n.quorum && typeof n.quorum === "object" ? n.quorum : {};
        const by = "percent" in q ? "percent" : "count";
        const qv = h("input", { type: "number", min: 1, value: q[by] ?? "", "data-testid": "prop-quorum-value", style: "width:80px" });
        const qk = h("select", { "data-testid": "prop-quorum-by" }, ["count", "percent"].map((k) => h("option", { value: k, selected: k === by }, k === "count" ? "approvals" : "% of the people")));
        const setQ = () => { const v = Number(qv.value); if (qv.value !== "" && v > 0) n.quorum = { [qk.value]: qk.value === "count" ? Math.round(v) : v }; else delete n.quorum; changed(); };
        qv.addEventListener("input", setQ); qk.addEventListener("change", setQ);
        rows.push(field("quorum", h("span", {}, qv, " ", qk)));
      }
      if (n.type === "approval") {
        rows.push(field("a rejection", h("select", { "data-testid": "prop-reject_policy", onchange: (ev) => {
          if (ev.target.value === "immediate") delete n.reject_policy; else n.reject_policy = ev.target.value; changed(); } },
          [["immediate", "rejects at once"], ["after_all", "rejects after everyone voted"]].map(([v, l]) => h("option", { value: v, selected: (n.reject_policy || "immediate") === v }, l)))));
      }
      if (PEOPLE_TYPES.includes(n.type)) {
        rows.push(block("assignees", assigneesEditor(n)));
        rows.push(field("when nobody is found", h("select", { "data-testid": "prop-if_none", "data-prop": "if_none", onchange: (ev) => {
          if (ev.target.value === "error") delete n.if_none; else n.if_none = ev.target.value; changed(); } },
          [["error", "stop with an error"], ["skip", "skip the node"], ["admin", "give it to the admins"]].map(([v, l]) => h("option", { value: v, selected: (n.if_none || "error") === v, "data-prop": `if_none.${v}` }, l)))));
      }
      if (["approval", "fill"].includes(n.type)) {
        const reasons = n.require_reason === true ? ["reject", "return"] : Array.isArray(n.require_reason) ? n.require_reason : [];
        rows.push(field("a reason is required to", h("span", { "data-testid": "prop-require_reason" }, ["reject", "return"].map((r) => h("label.inline", {},
          h("input", { type: "checkbox", checked: reasons.includes(r), "data-testid": `prop-require_reason-${r}`, onchange: (ev) => {
            const set = new Set(reasons); if (ev.target.checked) set.add(r); else set.delete(r);
            const list = ["reject", "return"].filter((x) => set.has(x));
            if (list.length) n.require_reason = list; else delete n.require_reason;
            changed(); renderPanel(); } }), r)))));
        const back = Array.isArray(n.returnable_to) ? n.returnable_to : n.returnable_to ? [n.returnable_to] : [];
        const targets = [...RETURN_TARGETS, ...flow.nodes.filter((x) => x !== n && ["approval", "fill"].includes(x.type)).map((x) => x.id)];
        rows.push(field("may be returned to", h("span.checks", { "data-testid": "prop-returnable_to" }, [...new Set([...targets, ...back])].map((t) => h("label.inline", {},
          h("input", { type: "checkbox", checked: back.includes(t), "data-testid": `prop-returnable_to-${t}`, onchange: (ev) => {
            const set = new Set(back); if (ev.target.checked) set.add(t); else set.delete(t);
            const list = [...new Set([...targets, ...back])].filter((x) => set.has(x));
            if (!list.length) delete n.returnable_to; else n.returnable_to = list.length === 1 ? list[0] : list;
            changed(); renderPanel(); } }), t)))));
      }
      if (["approval", "fill"].includes(n.type)) {
        n.sla = n.sla && typeof n.sla === "object" ? n.sla : undefined;
        const sla = n.sla || {};
        const slaInput = (prop) => {
          const el = h("input", { value: sla[prop] ?? "", placeholder: "e.g. 8h, 2d", "data-testid": `prop-${prop}`, "data-prop": `sla.${prop}` });
          el.addEventListener("input", () => {
            n.sla = { ...(n.sla || {}) };
            if (el.value) n.sla[prop] = el.value; else delete n.sla[prop];
            if (!Object.keys(n.sla).length) delete n.sla;
            changed();
          });
          return el;
        };
        const setSla = (k, v) => { n.sla = { ...(n.sla || {}) }; if (v === undefined) delete n.sla[k]; else n.sla[k] = v; if (!Object.keys(n.sla).length) delete n.sla; changed(); };
        // escalation: an action (escalate: {action, to}) or the shorthand escalate_to (a reassignment to its people)
        const escal = sla.escalate && typeof sla.escalate === "object" ? sla.escalate : null;
        const current = "escalate_to" in sla ? "escalate_to" : escal?.action || "";
        const peopleNow = () => (n.sla?.escalate_to ?? n.sla?.escalate?.to);
        const thenSel = h("select", { "data-testid": "prop-escalate", "data-prop": "sla.escalate", onchange: (ev) => {
          const v = ev.target.value;
          const people = peopleNow();
          if (v === "escalate_to") {
            setSla("escalate", undefined);
            setSla("escalate_to", people || { role: roles[0] || "" });
          } else {
            setSla("escalate_to", undefined);
            const keep = ["reassign", "notify_manager"].includes(v) ? people : undefined;
            setSla("escalate", !v ? undefined : v === "reassign" ? { action: v, to: keep || { role: roles[0] || "" } }
              : keep ? { action: v, to: keep } : { action: v });
          }
          renderPanel(); } }, h("option", { value: "" }, "—"),
          ESCALATIONS.map((a) => h("option", { value: a, selected: current === a, "data-prop": `escalate.action.${a}` }, ESCALATION_LABEL[a])),
          h("option", { value: "escalate_to", selected: current === "escalate_to", "data-prop": "sla.escalate_to" }, ESCALATION_LABEL.escalate_to));
        const escPeople = () => {
          if (current === "escalate_to") {
            return block("reassign to", peopleEditor({ value: sla.escalate_to, prefix: "escalate-to", prop: "escalate.to", escalation: true,
              store: (v) => setSla("escalate_to", v) }), "prop-escalate-people");
          }
          if (current !== "reassign" && current !== "notify_manager") return "";
          const optional = current === "notify_manager";
          return block(optional ? "notify instead of the assignee's manager (optional)" : "reassign to",
            peopleEditor({ value: escal.to, prefix: "escalate-to", prop: "escalate.to", escalation: true, optional,
              store: (v) => { const e = { ...(n.sla?.escalate || { action: current }) }; if (v === undefined) delete e.to; else e.to = v; setSla("escalate", e); } }),
            "prop-escalate-people");
        };
        rows.push(field("remind after", slaInput("remind_after")), field("escalate after", slaInput("escalate_after")),
          field("then", thenSel), escPeople(),
          field("count working time only", h("input", { type: "checkbox", checked: !!sla.business_time, "data-testid": "prop-business_time", "data-prop": "sla.business_time",
            onchange: (ev) => setSla("business_time", ev.target.checked || undefined) })));
        rows.push(h("h4", {}, "Field rights"),
          field("other fields", h("select", { "data-testid": "prop-default_rights", onchange: (ev) => { if (ev.target.value) n.default_rights = ev.target.value; else delete n.default_rights; changed(); } },
            h("option", { value: "" }, "(default: read-only)"), RIGHTS.map((r) => h("option", { value: r, selected: n.default_rights === r }, r)))),
          rightsEditor(n));
        const checks = Array.isArray(n.validations) ? n.validations : [];
        rows.push(h("h4", {}, "Checks when a task here is done"), h("div", { "data-testid": "node-validations" }, checks.map((v, i) => h("div.validation", {},
          exprInput(v, "expr", `node-validation-expr-${i}`),
          h("input", { value: typeof v.message === "object" && v.message ? Object.values(v.message)[0] : v.message ?? "", placeholder: "message", "data-testid": `node-validation-message-${i}`,
            oninput: (ev) => { v.message = ev.target.value; changed(); } }),
          h("button.delete", { title: "Remove", onclick: () => { checks.splice(i, 1); if (!checks.length) delete n.validations; changed(); renderPanel(); } }, "×"))),
          h("button.small", { "data-testid": "node-validation-add", onclick: () => { n.validations = [...checks, { expr: "true", message: "" }]; changed(); renderPanel(); } }, "+ check")));
      }
      if (n.type === "automation") rows.push(h("h4", {}, "Actions"), actionsEditor(n, idx));
      if (n.type === "end") rows.push(field("outcome", textInput(n, "outcome")));
      if (n.type === "subflow") rows.push(field("flow", textInput(n, "flow")));
      rows.push(h("div.field-errors", {}, mine.filter((e) => e.path.startsWith(`nodes[${idx}]`)).map((e) => h("div.card-error", {}, `${e.path}: ${e.message}`))));
      panel.replaceChildren(...rows);
      return;
    }
    const e = selection.edge;
    const idx = flow.edges.indexOf(e);
    const def = h("input", { type: "checkbox", checked: !!e.default, "data-testid": "prop-default", onchange: (ev) => {
      if (ev.target.checked) e.default = true; else delete e.default; changed();
    } });
    panel.replaceChildren(h("h3", {}, `Edge ${e.from} → ${e.to}`),
      field("condition (if)", exprInput(e, "if", "prop-if")),
      field("default (taken when no condition holds)", def),
      field("label", textInput(e, "label")),
      h("button.small", { onclick: () => { editor.removeSingleConnection(dfId.get(e.from), dfId.get(e.to), "output_1", "input_1"); } }, "delete edge"),
      h("div.field-errors", { "data-testid": "edge-errors" }, mine.filter((x) => x.path.startsWith(`edges[${idx}]`)).map((x) => h("div.card-error", {}, `${x.path}: ${x.message}`))));
  }

  // -- simulate -----------------------------------------------------------------------------------------------
  const sample = {};
  function renderSimulate() {
    const inputs = formFields.filter((f) => !["subtable", "formula", "lookup", "rollup", "serial_number"].includes(f.type))
      .map((f) => h("label.inline", {}, f.key, h("input", { "data-testid": `sample-${f.key}`, oninput: (ev) => {
        if (ev.target.value === "") delete sample[f.key];
        else sample[f.key] = f.type === "boolean" ? ["true", "1", "yes"].includes(ev.target.value.toLowerCase()) : ev.target.value;
      } })));
    const result = h("div.sim-result", { "data-testid": "simulate-result" });
    simBox.replaceChildren(h("h3", {}, "Simulate"), h("div.sim-inputs", {}, inputs),
      h("button.primary", { "data-testid": "simulate", onclick: async () => {
        canvasEl.querySelectorAll(".on-path").forEach((el) => el.classList.remove("on-path"));
        const out = await post(`/api/designer/apps/${encodeURIComponent(app)}/simulate`, { path, data: flow, record: sample });
        if (out.errors.length) { result.replaceChildren(h("p.error", {}, `The flow has ${out.errors.length} problem(s); fix them first.`)); errors = out.errors; markErrors(); return; }
        if (out.error) { result.replaceChildren(h("p.error", {}, out.error)); }
        out.path.forEach((id, i) => {
          if (dfId.has(id)) canvasEl.querySelector(`#node-${dfId.get(id)}`).classList.add("on-path");
          if (i) connectionEl({ from: out.path[i - 1], to: id })?.classList.add("on-path");
        });
        result.replaceChildren(h("p", {}, `Path: ${out.path.join(" → ")}`, out.outcome ? ` — outcome ${out.outcome}` : ""),
          h("ul", {}, Object.entries(out.people).map(([node, people]) => h("li", {}, `${node}: ${people.join(", ")}`))));
      } }, "Simulate"), result);
  }

  // -- start --------------------------------------------------------------------------------------------------
  try {
    const { files } = await get(`/api/designer/apps/${encodeURIComponent(app)}/files`);
    const formFile = files.find((x) => x.kind === "form" && x.key === flow.form);
    if (formFile) {
      const form = (await get(fileUrl(app, formFile.path))).data;
      const types = Object.fromEntries(meta.field_types.map((t) => [t.name, t]));
      formFields = (form.fields || []).filter((f) => !(types[f.type] || {}).layout_only).map((f) => ({ key: f.key, type: f.type, label: f.label }));
    }
    const org = files.find((x) => x.path === "org.yaml");
    if (org) {
      const orgData = (await get(fileUrl(app, "org.yaml"))).data || {};
      roles = (orgData.roles || []).map((r) => r.key);
      departments = (orgData.departments || []).filter((d) => d && d.key).map((d) => ({ key: d.key, label: text(d.label) || d.key }));
      orgUsers = (orgData.users || []).filter((u) => u && u.username).map((u) => ({ username: u.username, name: text(u.name) || u.username }));
    }
    decisions = files.filter((x) => x.kind === "decision_table" && x.key).map((x) => x.key);
    appFlows = files.filter((x) => x.kind === "flow" && x.key).map((x) => x.key);
    const { datasets } = await get(`/api/designer/apps/${encodeURIComponent(app)}/datasets`);
    for (const d of datasets.filter((x) => x.group === "form")) appForms[d.name] = d.fields.filter((f) => !f.name.includes(".")).map((f) => ({ key: f.name, type: f.type }));
    for (const d of datasets.filter((x) => x.group === "subtable")) {
      const [form, sub] = d.name.split(".");
      (appSubtables[form] ||= {})[sub] = d.fields.filter((f) => !f.name.includes(".")).map((f) => f.name);
    }
  } catch (_) { /* completion lists are a convenience */ }
  rebuild();
  renderPanel();
  renderSimulate();
  toolbar.showErrors(errors);
  session.watch();
}
