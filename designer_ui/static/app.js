// The designer's shell: sign-in, the list of apps, an app's files and versions, and the editor for each file.
import { ApiError, debounce, errorList, fileUrl, get, h, post, put, setCsrf, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const shell = document.getElementById("main");
// each route renders into a fresh box: a slower earlier route that finishes late writes into a box no longer shown
let current = shell;
const crumbs = document.getElementById("crumbs");
const who = document.getElementById("who");
export const state = { me: null, meta: null };

function setCrumbs(...parts) {
  crumbs.replaceChildren(...parts.flatMap((p, i) => [i ? " / " : "", p.href ? h("a", { href: p.href }, p.label) : p.label]));
}

function problem(message, main = current) {
  main.replaceChildren(h("div.banner.error", { "data-testid": "page-error" }, message));
}

async function signIn(main) {
  const user = h("input", { name: "username", autocomplete: "username", "data-testid": "username" });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", "data-testid": "password" });
  const msg = h("p.error");
  const form = h("form.login", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const out = await post("/api/auth/login", { username: user.value, password: pass.value });
        setCsrf(out.csrf_token);
        await route();
      } catch (err) { msg.textContent = err.message; }
    },
  }, h("h2", {}, "Sign in to the designer"), h("label", {}, "User name", user), h("label", {}, "Password", pass),
  h("button.primary", { type: "submit", "data-testid": "login" }, "Sign in"), msg);
  main.replaceChildren(form);
  user.focus();
}

async function ensureSignedIn(main) {
  if (state.me) return true;
  try {
    state.me = await get("/api/me");
    setCsrf(state.me.csrf_token);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { await signIn(main); return false; }
    throw err;
  }
  who.textContent = state.me.name || state.me.username;
  if (!state.me.admin && !(state.me.roles || []).includes("designer")) {
    problem("Only administrators and designers may use the designer.", main);
    return false;
  }
  if (!state.meta) state.meta = await get("/api/designer/meta");
  return true;
}

async function appsPage(main) {
  setCrumbs({ label: "Apps" });
  const { apps } = await get("/api/designer/apps");
  main.replaceChildren(h("h2", {}, "Apps"), h("ul.cards", {}, apps.map((a) => h("li.card", {},
    h("a", { href: `#/app/${a.key}`, "data-testid": `app-${a.key}` }, h("strong", {}, text(a.label)), ` (${a.key})`),
    h("div.muted", {}, a.published_version ? `published version ${a.published_version}` : "not published",
      a.git ? " · git" : "")))));
  if (state.me.admin) main.append(await reloadPanel());
}

// Admins only: what the apps folder's reload last did (GET /api/admin/apps/reload-status) and "reload now"
// (POST /api/admin/apps/reload). The server refuses both to anyone else.
async function reloadPanel() {
  const box = h("section.reload-panel", { "data-testid": "reload-panel" });
  const result = h("div", { "data-testid": "reload-result" });
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const problemList = (problems) => h("ul.problems", { "data-testid": "reload-problems" }, (problems || []).flatMap((p) =>
    (p.errors || []).map((e) => h("li.problem", {}, h("span.where", {}, `${p.folder}/${e.file}:${e.line}:${e.col}`), " ",
      e.path ? h("code", {}, e.path) : "", " ", e.message, e.hint ? h("span.hint", {}, ` (${e.hint})`) : ""))));
  const commitLine = (entry, testid) => h("dl.reload-commit", { "data-testid": testid },
    entry.commit ? [h("dt", {}, "commit"), h("dd", { "data-testid": `${testid}-commit`, title: entry.commit }, h("code", {}, entry.commit.slice(0, 12)))] : [],
    h("dt", {}, "author"), h("dd", { "data-testid": `${testid}-author` }, entry.author || "—", entry.email ? ` <${entry.email}>` : ""),
    h("dt", {}, "message"), h("dd", { "data-testid": `${testid}-message` }, entry.message || "—"),
    h("dt", {}, "time"), h("dd", { "data-testid": `${testid}-time` }, when(entry.committed_at || entry.checked_at)),
    entry.published?.length ? [h("dt", {}, "apps"), h("dd", { "data-testid": `${testid}-apps` }, entry.published.map((x) =>
      `${x.app} v${x.version}${x.changed ? " (published then)" : ""}`).join(", "))] : []);
  const draw = async () => {
    let status;
    try { status = await get("/api/admin/apps/reload-status"); } catch (err) {
      box.replaceChildren(h("p.error", {}, `Reload status: ${err.message}`)); return;
    }
    const last = status.last;
    const published = status.last_published;
    box.replaceChildren(h("h3", {}, "Apps folder reload"),
      h("p.muted", { "data-testid": "reload-mode" }, status.git
        ? `The apps folder is a git repository: new commits are published ${status.interval > 0 ? `every ${status.interval} s` : "by a reload only (automatic reload is off)"}.`
        : "The apps folder is not a git repository: a reload publishes the folder as it is on disk (drafts included)."),
      ...(published ? [h("h4", {}, "Last published"), commitLine(published, "reload-published")]
        : [h("p.muted", { "data-testid": "reload-published-none" }, "Nothing published by a reload yet.")]),
      last && last.ok === false ? h("div.banner.error", { "data-testid": "reload-error" },
        h("strong", {}, last.commit ? `Commit ${last.commit.slice(0, 12)} was not published` : "The last reload did not publish everything"),
        last.author ? ` (${last.author}${last.message ? `: ${last.message}` : ""}, ${when(last.committed_at || last.checked_at)})` : "",
        " — the previous version keeps serving.", problemList(last.problems)) : "",
      last ? h("p.muted", { "data-testid": "reload-checked" }, `Last checked ${when(last.checked_at)}.`) : "",
      h("button", { "data-testid": "reload-now", onclick: async (ev) => {
        ev.target.disabled = true;
        result.replaceChildren(h("p.muted", {}, "Reloading…"));
        try {
          const out = await post("/api/admin/apps/reload");
          result.replaceChildren(h("p.ok", {}, "Reloaded: ", out.published.map((x) => `${x.app} version ${x.version}${x.changed ? " (new)" : " (unchanged)"}`).join(", ") || "no app folder"));
        } catch (err) {
          result.replaceChildren(h("p.error", {}, err.message));
        }
        await draw();
      } }, "Reload now"), result);
  };
  await draw();
  return box;
}

function kindOf(file) { return file.kind; }

async function appPage(main, app) {
  setCrumbs({ label: "Apps", href: "#/" }, { label: app });
  const [{ files }, history] = await Promise.all([
    get(`/api/designer/apps/${encodeURIComponent(app)}/files`),
    get(`/api/designer/apps/${encodeURIComponent(app)}/versions`),
  ]);
  const byKind = {};
  for (const f of files) (byKind[kindOf(f)] ||= []).push(f);
  const newKey = h("input", { placeholder: "new_form_key", pattern: "[a-z][a-z0-9_]{0,39}", "data-testid": "new-form-key" });
  const newLabel = h("input", { placeholder: "Label", "data-testid": "new-form-label" });
  const newMsg = h("span.error");
  const createForm = async () => {
    const key = newKey.value.trim();
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) { newMsg.textContent = "key: lower-case letters, digits and _, starting with a letter"; return; }
    try {
      await put(fileUrl(app, `forms/${key}.yaml`), { token: "new", data: { key, label: newLabel.value.trim() || key, fields: [] } });
      location.hash = `#/app/${app}/edit/forms/${key}.yaml`;
    } catch (err) { newMsg.textContent = err.message; }
  };
  const newFlowKey = h("input", { placeholder: "new_flow_key", "data-testid": "new-flow-key" });
  const newFlowForm = h("select", { "data-testid": "new-flow-form" },
    (byKind.form || []).map((f) => h("option", { value: f.key }, f.key)));
  const createFlow = async () => {
    const key = newFlowKey.value.trim();
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) { newMsg.textContent = "key: lower-case letters, digits and _, starting with a letter"; return; }
    try {
      await put(fileUrl(app, `flows/${key}.yaml`), { token: "new", data: { key, form: newFlowForm.value, nodes: [
        { id: "start", type: "start" }, { id: "done", type: "end", outcome: "approved" }], edges: [{ from: "start", to: "done" }] } });
      location.hash = `#/app/${app}/edit/flows/${key}.yaml`;
    } catch (err) { newMsg.textContent = err.message; }
  };
  const newReportKey = h("input", { placeholder: "new_report_key", "data-testid": "new-report-key" });
  const newReportLabel = h("input", { placeholder: "Label", "data-testid": "new-report-label" });
  const createReport = async (kind) => {
    const key = newReportKey.value.trim();
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) { newMsg.textContent = "key: lower-case letters, digits and _, starting with a letter"; return; }
    const label = newReportLabel.value.trim() || key;
    const data = kind === "dashboard" ? { kind: "dashboard", key, label, widgets: [] }
      : { key, label, dataset: (byKind.form || [])[0]?.key || "", measures: [{ agg: "count" }], chart: "bar" };
    try {
      await put(fileUrl(app, `reports/${key}.yaml`), { token: "new", data });
      location.hash = `#/app/${app}/edit/reports/${key}.yaml`;
    } catch (err) { newMsg.textContent = err.message; }
  };
  const newAutoKey = h("input", { placeholder: "new_automation_key", "data-testid": "new-automation-key" });
  const createAutomation = async () => {
    const key = newAutoKey.value.trim();
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) { newMsg.textContent = "key: lower-case letters, digits and _, starting with a letter"; return; }
    const form = (byKind.form || [])[0]?.key || "";
    try {
      await put(fileUrl(app, `automations/${key}.yaml`), { token: "new", data: { key, when: { record: "created", form },
        then: [{ notify: { to: { fields: ["owner"] }, title: "{{id}}" } }] } });
      location.hash = `#/app/${app}/edit/automations/${key}.yaml`;
    } catch (err) { newMsg.textContent = err.message; }
  };
  const diffBox = h("pre.diff", { "data-testid": "diff" });
  const changesBox = h("div.changes", { "data-testid": "changes" });
  const showDiff = async (old, neu) => {
    const [out, listed] = await Promise.all([
      get(`/api/designer/apps/${encodeURIComponent(app)}/diff?old=${old}&new=${neu}`),
      get(`/api/designer/apps/${encodeURIComponent(app)}/changes?old=${old}&new=${neu}`)]);
    changesBox.replaceChildren(...renderChanges(listed, neu === "draft" ? "draft" : `v${neu}`, `v${old}`));
    diffBox.replaceChildren(...renderDiff(out || "(no differences)"));
  };
  const rollbackMsg = h("span.status", { "data-testid": "rollback-status" });
  const rollback = async (n) => {
    try {
      const v = await post(`/api/designer/apps/${encodeURIComponent(app)}/rollback`, { version: n });
      rollbackMsg.textContent = `Rolled back: version ${v.number} has the files of version ${n}`;
      setTimeout(() => route(), 600);
    } catch (err) { rollbackMsg.textContent = `Roll back refused: ${err.message}`; }
  };
  const latest = history.versions[0];
  const versions = h("table.versions", {}, h("tr", {}, ["#", "when", "who", "message", ""].map((t) => h("th", {}, t))),
    history.versions.map((v, i) => h("tr", { "data-testid": `version-${v.number}` },
      h("td", {}, v.number), h("td", {}, v.created_at.replace("T", " ").slice(0, 19)), h("td", {}, v.author),
      h("td", {}, v.message), h("td", {},
        i < history.versions.length - 1 ? h("button.small", { onclick: () => showDiff(history.versions[i + 1].number, v.number) }, "diff with previous") : "",
        h("button.small", { onclick: () => showDiff(v.number, "draft") }, "diff with draft"),
        i > 0 ? h("button.small", { onclick: () => rollback(v.number), "data-testid": `rollback-${v.number}` }, "roll back to this") : ""))));
  const fileList = Object.entries(byKind).map(([kind, list]) => h("section.kind", {}, h("h3", {}, kind),
    h("ul", {}, list.map((f) => h("li", {}, h("a", { href: `#/app/${app}/edit/${f.path}`, "data-testid": `file-${f.path}` }, f.path),
      f.label ? h("span.muted", {}, ` ${text(f.label)}`) : "")))));
  main.replaceChildren(
    h("div.columns", {},
      h("div.col", {}, h("h2", {}, `App ${app}`), ...fileList,
        h("section.new", {}, h("h3", {}, "New form"), newKey, newLabel, h("button", { onclick: createForm, "data-testid": "create-form" }, "Create form")),
        h("section.new", {}, h("h3", {}, "New approval flow"), newFlowKey, newFlowForm, h("button", { onclick: createFlow, "data-testid": "create-flow" }, "Create flow")),
        h("section.new", {}, h("h3", {}, "New report or dashboard"), newReportKey, newReportLabel,
          h("button", { onclick: () => createReport("report"), "data-testid": "create-report" }, "Create report"),
          h("button", { onclick: () => createReport("dashboard"), "data-testid": "create-dashboard" }, "Create dashboard")),
        (state.meta?.kinds || []).some((k) => k.name === "automation") ? h("section.new", {}, h("h3", {}, "New automation"), newAutoKey,
          h("button", { onclick: createAutomation, "data-testid": "create-automation" }, "Create automation")) : "",
        newMsg),
      h("div.col", {}, h("h2", {}, "Versions"),
        history.draft_changed ? h("p.warn", {}, "The draft differs from the published version.",
          latest ? h("button.small", { onclick: () => showDiff(latest.number, "draft") }, "show changes") : "") : h("p.muted", {}, "The draft is the published version."),
        versions, rollbackMsg, changesBox, diffBox,
        history.git ? h("section", {}, h("h3", {}, "Git log"), h("ul.gitlog", { "data-testid": "git-log" }, history.git.map((c) =>
          h("li", {}, h("code", {}, c.commit.slice(0, 8)), ` ${c.date.slice(0, 16).replace("T", " ")} ${c.author}: ${c.message}`)))) : "")));
}

// The field-level changes of two versions, side by side: what it was, what it is.
function shortValue(v) {
  if (v === undefined || v === null) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}
export function renderChanges(listed, newName, oldName) {
  if (!listed.files.length) return [h("p.muted", {}, "No changes.")];
  return [h("h3", {}, `Changes ${oldName} → ${newName}`), ...listed.files.map((f) => h("section.change-file", { "data-file": f.file },
    h("h4", {}, f.file, " ", h(`span.badge.change-${f.change}`, {}, f.change)),
    f.items.length ? h("table.changes-table", {}, h("tr", {}, h("th", {}, "what"), h("th", {}, ""), h("th", {}, oldName), h("th", {}, newName)),
      f.items.map((c) => h(`tr.change-${c.change}`, { "data-path": c.path },
        h("td", {}, h("code", {}, c.path || "(file)")), h("td", {}, h(`span.badge.change-${c.change}`, {}, c.change)),
        h("td.old", {}, shortValue(c.old)), h("td.new", {}, shortValue(c.new))))) : "",
    f.truncated ? h("p.muted", {}, "… more changes: see the text diff") : ""))];
}

export function renderDiff(textOut) {
  return textOut.split("\n").map((line) => h(`span.${line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "ctx"}`, {}, line + "\n"));
}

// Any definition as text, for kinds without a visual editor (and for editing YAML by hand).
async function textEditor(main, app, path) {
  const session = new FileSession(app, path, { onReload: () => route() });
  const file = await session.load();
  const area = h("textarea.code", { spellcheck: "false", "data-testid": "text-editor" });
  area.value = file.content;
  const gutter = h("div.line-errors");
  const show = (errors) => {
    toolbar.showErrors(errors);
    gutter.replaceChildren(...errors.filter((e) => e.file === path).map((e) => h("div", {}, `line ${e.line}: ${e.message}`)));
  };
  const toolbar = new Toolbar(session, {
    onSave: async () => { const saved = await session.save({ content: area.value }); if (saved) show(saved.errors); },
    onPick: (e) => { const lines = area.value.split("\n"); let pos = 0; for (let i = 0; i < e.line - 1; i++) pos += lines[i].length + 1; area.focus(); area.setSelectionRange(pos, pos + (lines[e.line - 1] || "").length); },
  });
  const live = debounce(async () => { const out = await session.check({ content: area.value }); show(out.errors); }, 400);
  area.addEventListener("input", () => { session.dirty = true; live(); });
  main.replaceChildren(toolbar.el, toolbar.banners, h("div.text-edit", {}, area, gutter), toolbar.problems);
  show(file.errors);
  session.watch();
}

async function editorPage(main, app, path) {
  setCrumbs({ label: "Apps", href: "#/" }, { label: app, href: `#/app/${app}` }, { label: path });
  const kind = (await get(`/api/designer/apps/${encodeURIComponent(app)}/files`)).files.find((f) => f.path === path)?.kind;
  const asText = new URLSearchParams(location.hash.split("?")[1] || "").get("text") === "1";
  if (!asText && kind === "form") {
    const { mountFormDesigner } = await import("./form_designer.js");
    return mountFormDesigner(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && kind === "flow") {
    const { mountFlowDesigner } = await import("./flow_designer.js");
    return mountFlowDesigner(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && kind === "report") {
    const { mountReportBuilder } = await import("./report_builder.js");
    return mountReportBuilder(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && kind === "dashboard") {
    const { mountDashboardEditor } = await import("./dashboard_editor.js");
    return mountDashboardEditor(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && kind === "automation") {
    const { mountAutomationEditor } = await import("./automation_editor.js");
    return mountAutomationEditor(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && kind === "decision_table") {
    const { mountRulesEditor } = await import("./rules_editor.js");
    return mountRulesEditor(main, { app, path, meta: state.meta, reload: () => route() });
  }
  if (!asText && state.meta.schemas[kind]) {
    // app.yaml, org.yaml, record pages …: a form built from the kind's meta-schema
    const { mountSchemaEditor } = await import("./schema_editor.js");
    return mountSchemaEditor(main, { app, path, meta: state.meta, kind, reload: () => route() });
  }
  return textEditor(main, app, path);
}

export async function route() {
  const main = h("div.route");
  current = main;
  shell.replaceChildren(main);
  try {
    if (!(await ensureSignedIn(main))) return;
    const hash = decodeURIComponent(location.hash.replace(/^#/, "").split("?")[0]) || "/";
    let m;
    if ((m = hash.match(/^\/app\/([^/]+)\/edit\/(.+)$/))) return await editorPage(main, m[1], m[2]);
    if ((m = hash.match(/^\/app\/([^/]+)\/?$/))) return await appPage(main, m[1]);
    return await appsPage(main);
  } catch (err) {
    problem(err.message, main);
  }
}

window.addEventListener("hashchange", route);
route();
