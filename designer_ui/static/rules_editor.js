// The decision-table editor: inputs and outputs as columns, rules as rows, the hit policy, and the table's test
// cases run from the editor against the draft (nothing needs saving first).
import { debounce, h, post } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const NUMERIC = ["number", "integer", "money", "percent"];

export async function mountRulesEditor(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const table = file.data;
  if (!table || typeof table !== "object" || Array.isArray(table)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a decision table. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  for (const k of ["inputs", "outputs", "rules", "tests"]) if (!Array.isArray(table[k])) table[k] = [];
  const schema = meta.schemas.decision_table;
  const types = schema.$defs.type.enum;
  let errors = file.errors;
  let results = null; // {passed, failed, failures}
  const grid = h("div.dt-grid", { "data-testid": "dt-grid" });
  const testsBox = h("div.dt-tests", { "data-testid": "dt-tests" });
  const head = h("div.dt-head");
  const toolbar = new Toolbar(session, {
    onSave: async () => { const saved = await session.save({ data: table }); if (saved) { errors = saved.errors; render(); } },
    onPick: () => {},
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; render(); };
  root.replaceChildren(toolbar.el, toolbar.banners, head, grid, testsBox, toolbar.problems);

  const changed = () => { session.dirty = true; toolbar.status("Unsaved changes"); liveCheck(); };
  const liveCheck = debounce(async () => {
    const out = await session.check({ data: table });
    errors = out.errors;
    markErrors();
  }, 300);

  // a rule's cells in column order, whichever way the file writes them (list, or mapping by key)
  const cells = (rule, part, cols) => (Array.isArray(rule[part]) ? rule[part]
    : rule[part] && typeof rule[part] === "object" ? cols.map((c) => rule[part][c.key] ?? "-")
      : part === "then" ? [rule[part]] : []);
  const setCell = (rule, part, cols, i, value) => {
    if (rule[part] && typeof rule[part] === "object" && !Array.isArray(rule[part])) { rule[part][cols[i].key] = value; return; }
    const list = cells(rule, part, cols).slice();
    while (list.length < cols.length) list.push(part === "when" ? "-" : null);
    list[i] = value;
    rule[part] = list;
  };
  const parse = (raw, col, part) => {
    const t = raw.trim();
    if (part === "then" || part === "given" || part === "expect") {
      if (NUMERIC.includes(col.type) && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
      if (col.type === "boolean" && (t === "true" || t === "false")) return t === "true";
      if (t === "" && part !== "given") return null;
    }
    return raw;
  };
  const show = (v) => (v === null || v === undefined ? "" : String(v));

  function cellInput(value, onChange, testid) {
    const el = h("input.dt-cell", { value: show(value), "data-testid": testid, spellcheck: "false" });
    el.addEventListener("input", () => { onChange(el.value); changed(); });
    return el;
  }

  const listOf = (v) => v.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const typedList = (v, col) => listOf(v).map((x) => parse(x, col, "then"));
  const openCols = new Set(); // "inputs-0" … whose details are open
  // a column's other settings: its label; an input's expression and domain; an output's allowed values and default
  function columnMore(col, kind, i) {
    const id = `${kind}-${i}`;
    const opt = (k, v) => { if (v === undefined || v === "" || (Array.isArray(v) && !v.length)) delete col[k]; else col[k] = v; };
    const parts = [h("label", {}, "label ", cellInput(col.label, (v) => opt("label", v), `${kind}-label-${i}`))];
    if (kind === "inputs") {
      parts.push(h("label", {}, "from the record ", cellInput(col.expr, (v) => opt("expr", v), `${kind}-expr-${i}`)),
        h("label", {}, "domain ", cellInput(Array.isArray(col.domain) ? col.domain.join(", ") : col.domain, (v) => {
          const t = v.trim();
          opt("domain", /^[[(]/.test(t) ? t : typedList(v, col));
        }, `${kind}-domain-${i}`)), h("small.muted", {}, "a range '[0..1000]' or values 'A, B'"));
    } else {
      parts.push(h("label", {}, "values (highest priority first) ", cellInput((col.values || []).join(", "), (v) => opt("values", typedList(v, col)), `${kind}-values-${i}`)),
        h("label", {}, "when no rule matches ", cellInput(col.default, (v) => opt("default", parse(v, col, "then") ?? undefined), `${kind}-default-${i}`)));
    }
    return h("details.dt-more", { open: openCols.has(id), "data-testid": `${kind}-more-${i}`, ontoggle: (ev) => { if (ev.target.open) openCols.add(id); else openCols.delete(id); } },
      h("summary", {}, "more"), ...parts);
  }

  function columnHead(col, kind, i) {
    const list = table[kind];
    return h("th", { class: `dt-${kind}` },
      cellInput(col.key, (v) => { col.key = v; }, `${kind}-key-${i}`),
      h("select", { "data-testid": `${kind}-type-${i}`, onchange: (ev) => { if (ev.target.value) col.type = ev.target.value; else delete col.type; changed(); } },
        h("option", { value: "" }, "type…"), types.map((t) => h("option", { value: t, selected: col.type === t }, t))),
      h("button.small", { title: "remove column", onclick: () => {
        list.splice(i, 1);
        for (const r of table.rules) {
          const part = kind === "inputs" ? "when" : "then";
          if (Array.isArray(r[part])) r[part].splice(i, 1);
        }
        render(); changed();
      } }, "×"), columnMore(col, kind, i));
  }

  function render() {
    head.replaceChildren(
      h("label", {}, "key ", cellInput(table.key, (v) => { table.key = v; }, "dt-key")),
      h("label", {}, " label ", cellInput(table.label, (v) => { if (v) table.label = v; else delete table.label; }, "dt-label")),
      h("label", {}, " description ", cellInput(table.description, (v) => { if (v) table.description = v; else delete table.description; }, "dt-description")),
      h("label", {}, " version ", h("input", { type: "number", min: 1, value: table.version ?? "", "data-testid": "dt-version", style: "width:60px",
        oninput: (ev) => { const n = parseInt(ev.target.value, 10); if (n >= 1) table.version = n; else delete table.version; changed(); } })),
      h("label", {}, " hit policy ", h("select", { "data-testid": "hit-policy", onchange: (ev) => { table.hit_policy = ev.target.value; if (table.hit_policy !== "COLLECT") delete table.aggregation; render(); changed(); } },
        schema.properties.hit_policy.enum.filter((p) => !p.includes("_")).map((p) => h("option", { value: p, selected: (table.hit_policy || "UNIQUE") === p }, p)))),
      table.hit_policy === "COLLECT" ? h("label", {}, " aggregation ", h("select", { "data-testid": "aggregation", onchange: (ev) => { if (ev.target.value) table.aggregation = ev.target.value; else delete table.aggregation; changed(); } },
        h("option", { value: "" }, "(list)"), schema.properties.aggregation.enum.map((a) => h("option", { value: a, selected: table.aggregation === a }, a)))) : "");
    const ins = table.inputs;
    const outs = table.outputs;
    const rows = table.rules.map((rule, r) => h("tr", { "data-rule": r },
      h("td.dt-num", {}, String(r + 1)),
      ...ins.map((c, i) => h("td", {}, cellInput(cells(rule, "when", ins)[i], (v) => setCell(rule, "when", ins, i, parse(v, c, "when")), `when-${r}-${i}`))),
      ...outs.map((c, i) => h("td.dt-out", {}, cellInput(cells(rule, "then", outs)[i], (v) => {
        if (!Array.isArray(rule.then) && (typeof rule.then !== "object" || rule.then === null) && outs.length === 1) rule.then = parse(v, c, "then");
        else setCell(rule, "then", outs, i, parse(v, c, "then"));
      }, `then-${r}-${i}`))),
      h("td.dt-note", {}, cellInput(rule.note, (v) => { if (v) rule.note = v; else delete rule.note; }, `note-${r}`)),
      h("td", {}, h("button.small", { title: "move up", onclick: () => { if (r) { table.rules.splice(r - 1, 0, table.rules.splice(r, 1)[0]); render(); changed(); } } }, "↑"),
        h("button.small", { title: "delete rule", "data-testid": `delete-rule-${r}`, onclick: () => { table.rules.splice(r, 1); render(); changed(); } }, "×"))));
    grid.replaceChildren(h("table.dt", {},
      h("tr", {}, h("th", {}, "#"), ...ins.map((c, i) => columnHead(c, "inputs", i)), ...outs.map((c, i) => columnHead(c, "outputs", i)),
        h("th.dt-note", {}, "note"),
        h("th", {}, h("button.small", { "data-testid": "add-input", onclick: () => { ins.push({ key: `input_${ins.length + 1}`, type: "text" }); for (const r of table.rules) if (Array.isArray(r.when)) r.when.push("-"); render(); changed(); } }, "+ input"),
          h("button.small", { "data-testid": "add-output", onclick: () => { outs.push({ key: `output_${outs.length + 1}`, type: "text" }); for (const r of table.rules) if (Array.isArray(r.then)) r.then.push(null); render(); changed(); } }, "+ output"))),
      rows),
    h("button", { "data-testid": "add-rule", onclick: () => { table.rules.push({ when: ins.map(() => "-"), then: outs.map(() => null) }); render(); changed(); } }, "+ rule"),
    h("p.muted", {}, "Cells: '-' any, '< 1000', '[1000..50000)', 'A, B', not(...), or a value."));
    renderTests();
    markErrors();
  }

  function renderTests() {
    const ins = table.inputs;
    const outs = table.outputs;
    const failedRows = new Map();
    for (const line of results?.failures || []) {
      const m = line.match(/ test (\d+) FAILED(?:: (.*))?$/);
      if (m) failedRows.set(Number(m[1]), m[2] || "failed");
    }
    const rows = table.tests.map((t, k) => {
      t.given = t.given && typeof t.given === "object" ? t.given : {};
      const expect = t.expect && typeof t.expect === "object" && !Array.isArray(t.expect) ? t.expect : null;
      const outcome = t.expect_error ? t.expect_error : t.expect === null ? "no_match" : "";
      const outcomeSel = h("select", { "data-testid": `expect-outcome-${k}`, onchange: (ev) => {
        const v = ev.target.value;
        delete t.expect_error;
        if (v === "no_match") t.expect = null;
        else if (v) { t.expect_error = v; delete t.expect; } else t.expect = {};
        results = null; render(); changed();
      } }, h("option", { value: "" }, "these outputs"), h("option", { value: "no_match", selected: outcome === "no_match" }, "no rule matches"),
        schema.$defs.test.properties.expect_error.enum.map((x) => h("option", { value: x, selected: outcome === x }, `error: ${x}`)));
      const status = results ? (failedRows.has(k + 1) ? h("td.error", { "data-testid": `test-result-${k}` }, `✗ ${failedRows.get(k + 1)}`) : h("td.ok", { "data-testid": `test-result-${k}` }, "✓")) : h("td", {});
      return h("tr", {}, h("td.dt-num", {}, String(k + 1)),
        ...ins.map((c) => h("td", {}, cellInput(t.given[c.key], (v) => { if (v === "") delete t.given[c.key]; else t.given[c.key] = parse(v, c, "given"); }, `given-${k}-${c.key}`))),
        ...outs.map((c) => h("td.dt-out", {}, outcome ? h("span.muted", {}, "—")
          : expect || t.expect === undefined
            ? cellInput(expect?.[c.key], (v) => { t.expect = { ...(t.expect || {}), [c.key]: parse(v, c, "expect") }; }, `expect-${k}-${c.key}`)
            : h("code", {}, JSON.stringify(t.expect)))),
        h("td", {}, outcomeSel),
        h("td.dt-note", {}, cellInput(t.note, (v) => { if (v) t.note = v; else delete t.note; }, `test-note-${k}`)),
        status,
        h("td", {}, h("button.small", { onclick: () => { table.tests.splice(k, 1); results = null; render(); changed(); } }, "×")));
    });
    const summary = results ? h("p", { "data-testid": "test-summary", class: results.failed ? "error" : "ok" }, `${results.passed} passed, ${results.failed} failed`) : "";
    testsBox.replaceChildren(h("h3", {}, "Test cases"),
      h("table.dt", {}, h("tr", {}, h("th", {}, "#"), ...ins.map((c) => h("th", {}, `given ${c.key}`)), ...outs.map((c) => h("th.dt-out", {}, `expect ${c.key}`)), h("th", {}, "outcome"), h("th.dt-note", {}, "note"), h("th", {}, "result"), h("th", {})), rows),
      h("button", { "data-testid": "add-test", onclick: () => { table.tests.push({ given: {}, expect: {} }); render(); changed(); } }, "+ test case"),
      h("button.primary", { "data-testid": "run-tests", onclick: runTests }, "Run tests"), summary);
  }

  async function runTests() {
    try {
      results = await post(`/api/designer/apps/${encodeURIComponent(app)}/rule-tests`, { path, data: table });
      renderTests();
    } catch (err) {
      testsBox.append(h("p.error", { "data-testid": "test-summary" }, `Tests not run: ${err.message}`));
    }
  }

  function markErrors() {
    grid.querySelectorAll(".has-error").forEach((el) => { el.classList.remove("has-error"); el.removeAttribute("title"); });
    for (const e of errors.filter((x) => x.file === path)) {
      const m = (e.path || "").match(/^rules\[(\d+)\]\.(when|then)\[(\d+)\]/);
      const el = m && grid.querySelector(`[data-testid=${m[2]}-${m[1]}-${m[3]}]`);
      if (el) { el.classList.add("has-error"); el.title = e.message; }
    }
    toolbar.showErrors(errors);
  }

  render();
  session.watch();
}
