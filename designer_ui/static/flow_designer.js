// The flow designer: nodes dragged in, moved and connected on a Drawflow canvas; a side panel for the selected
// node (people, approval mode, time limits, field rights) or edge (condition); problems on the nodes; auto
// layout; simulate lights up the path a sample record would take.
import { debounce, fileUrl, get, h, post, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const NODE_TYPES = ["approval", "fill", "exclusive", "parallel", "join", "notify", "automation", "subflow", "end"];
const NODE_LABEL = { start: "Start", approval: "Approval", fill: "Fill in", exclusive: "Branch", parallel: "Parallel split",
  join: "Join", notify: "Notify (cc)", automation: "Automation", subflow: "Sub-flow", end: "End" };
const MODES = ["single", "any", "all", "sequential", "quorum"];
const RIGHTS = ["hidden", "readonly", "editable", "required"];
const PEOPLE = ["role", "users", "department", "manager_of", "field"];
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
  let roles = [];
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
  function textInput(obj, prop, { testid, after, list } = {}) {
    const el = h("input", { value: obj[prop] ?? "", "data-testid": testid || `prop-${prop}`, list });
    el.addEventListener("input", () => {
      if (el.value === "") delete obj[prop]; else obj[prop] = el.value;
      after?.(); changed();
    });
    return el;
  }

  function exprInput(obj, prop, testid) {
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
        obj[prop] = input.value; list.hidden = true; changed();
      } }, n)));
      list.hidden = !names.length;
    };
    input.addEventListener("input", () => { if (input.value) obj[prop] = input.value; else delete obj[prop]; suggest(); changed(); });
    input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
    return h("div.expr-box", {}, input, list);
  }

  function assigneesEditor(node) {
    const a = node.assignees;
    const simple = a && typeof a === "object" && !Array.isArray(a) && Object.keys(a).length === 1 && PEOPLE.includes(Object.keys(a)[0]);
    if (a !== undefined && !simple) {
      return h("div", {}, h("code", {}, JSON.stringify(a)), h("p.muted", {}, "Several rules: edit this node's people as text."));
    }
    const kind = simple ? Object.keys(a)[0] : "role";
    const raw = simple ? a[kind] : "";
    const kindSel = h("select", { "data-testid": "assignee-kind" }, PEOPLE.map((k) => h("option", { value: k, selected: k === kind }, k)));
    const value = h("input", { value: Array.isArray(raw) ? raw.join(", ") : raw ?? "", "data-testid": "assignee-value", list: "dl-people" });
    const dl = h("datalist", { id: "dl-people" });
    const fillList = () => {
      const k = kindSel.value;
      const opts = k === "role" ? roles : k === "field" ? formFields.filter((f) => ["user", "department"].includes(f.type)).map((f) => f.key) : k === "manager_of" ? ["initiator"] : [];
      dl.replaceChildren(...opts.map((o) => h("option", { value: o })));
    };
    const update = () => {
      const k = kindSel.value;
      const v = value.value.trim();
      node.assignees = { [k]: k === "users" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v };
      fillList(); changed(); renderNodeLabel(node);
    };
    kindSel.addEventListener("change", update);
    value.addEventListener("input", update);
    fillList();
    return h("div.assignees", {}, kindSel, value, dl);
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

  function renderNodeLabel(node) {
    const el = dfId.has(node.id) && canvasEl.querySelector(`#node-${dfId.get(node.id)} .drawflow_content_node`);
    if (el) el.innerHTML = nodeHtml(node);
  }

  function renderPanel() {
    const mine = errors.filter((e) => e.file === path);
    if (!selection) {
      panel.replaceChildren(h("h3", {}, "Flow"),
        field("key", textInput(flow, "key")), field("form", textInput(flow, "form")),
        field("label", textInput(flow, "label")),
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
      rows.push(field("id", idInput), field("name", textInput(n, "name", { after: () => renderNodeLabel(n) })));
      if (n.type === "approval") {
        rows.push(field("mode", h("select", { "data-testid": "prop-mode", onchange: (ev) => { n.mode = ev.target.value; changed(); } },
          MODES.map((m) => h("option", { value: m, selected: (n.mode || "single") === m }, m)))));
      }
      if (PEOPLE_TYPES.includes(n.type)) rows.push(field("assignees", assigneesEditor(n)));
      if (["approval", "fill"].includes(n.type)) {
        n.sla = n.sla && typeof n.sla === "object" ? n.sla : undefined;
        const sla = n.sla || {};
        const slaInput = (prop) => {
          const el = h("input", { value: sla[prop] ?? "", placeholder: "e.g. 8h, 2d", "data-testid": `prop-${prop}` });
          el.addEventListener("input", () => {
            n.sla = { ...(n.sla || {}) };
            if (el.value) n.sla[prop] = el.value; else delete n.sla[prop];
            if (!Object.keys(n.sla).length) delete n.sla;
            changed();
          });
          return el;
        };
        rows.push(field("remind after", slaInput("remind_after")), field("escalate after", slaInput("escalate_after")));
        rows.push(h("h4", {}, "Field rights"), rightsEditor(n));
      }
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
    if (org) roles = ((await get(fileUrl(app, "org.yaml"))).data.roles || []).map((r) => r.key);
  } catch (_) { /* completion lists are a convenience */ }
  rebuild();
  renderPanel();
  renderSimulate();
  toolbar.showErrors(errors);
  session.watch();
}
