// The dashboard editor: the app's reports in a palette, dragged onto a 12-column grid; widgets are moved by their
// title bar and resized by their corner, snapping to the grid; the side panel edits the selected widget.
import { debounce, get, h, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

export const COLUMNS = 12;
const ROW = 56; // px per grid row in the editor
const NEW_W = 6;
const NEW_H = 4;
const CLICKS = ["", "drill", "filter", "zoom"];

export function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function clampWidget(w) {
  w.w = Math.max(1, Math.min(COLUMNS, Math.round(w.w)));
  w.h = Math.max(1, Math.min(40, Math.round(w.h)));
  w.x = Math.max(0, Math.min(COLUMNS - w.w, Math.round(w.x)));
  w.y = Math.max(0, Math.round(w.y));
  return w;
}

export async function mountDashboardEditor(root, { app, path, meta, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const model = file.data;
  if (!model || typeof model !== "object" || Array.isArray(model)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a dashboard. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  if (!Array.isArray(model.widgets)) model.widgets = [];
  let errors = file.errors;
  let selected = null;
  let reports = [];

  const toolbar = new Toolbar(session, {
    onSave: () => save(),
    onPick: (e) => { const m = (e.path || "").match(/^widgets\[(\d+)\]/); if (m) { selected = model.widgets[Number(m[1])] || null; render(); } },
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; render(); };

  const palette = h("div.palette.db-palette", { "data-testid": "db-palette" });
  const grid = h("div.db-grid", { "data-testid": "db-grid" });
  const panel = h("div.panel", { "data-testid": "db-properties" });
  const warn = h("div.db-warn", { "data-testid": "db-warn" });
  root.replaceChildren(toolbar.el, toolbar.banners,
    h("div.dashboard-editor", {}, palette, h("div.center", {}, warn, grid), panel), toolbar.problems);

  const changed = () => { session.dirty = true; toolbar.status("Unsaved changes"); render(); liveCheck(); };
  const liveCheck = debounce(async () => {
    try { errors = (await session.check({ data: model })).errors; render(); } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);
  async function save() {
    const saved = await session.save({ data: model });
    if (saved) { errors = saved.errors; render(); }
  }

  // -- geometry -----------------------------------------------------------------------------------------------
  const colWidth = () => grid.clientWidth / COLUMNS;
  const cellAt = (clientX, clientY) => {
    const box = grid.getBoundingClientRect();
    return { x: Math.floor((clientX - box.left) / colWidth()), y: Math.floor((clientY - box.top) / ROW), inside:
      clientX >= box.left && clientX <= box.right && clientY >= box.top && clientY <= box.bottom };
  };
  function place(el, w) {
    el.style.left = `${w.x * colWidth()}px`;
    el.style.top = `${w.y * ROW}px`;
    el.style.width = `${w.w * colWidth() - 6}px`;
    el.style.height = `${w.h * ROW - 6}px`;
  }

  // press on an element, follow the pointer, snap to the grid; `apply(dxCells, dyCells)` previews, `done` commits
  let dragging = false; // a check that comes back mid-drag must not redraw the widget under the pointer
  function track(ev, apply, done) {
    ev.preventDefault();
    ev.stopPropagation();
    dragging = true;
    const sx = ev.clientX, sy = ev.clientY;
    const move = (e) => apply(Math.round((e.clientX - sx) / colWidth()), Math.round((e.clientY - sy) / ROW), e);
    const up = (e) => {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      dragging = false;
      done(Math.round((e.clientX - sx) / colWidth()), Math.round((e.clientY - sy) / ROW), e);
    };
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  }

  // -- palette ------------------------------------------------------------------------------------------------
  function renderPalette() {
    palette.replaceChildren(h("h4", {}, "Reports — drag onto the grid"), ...reports.map((r) => {
      const item = h("div.palette-item.db-report", { "data-report": r.key, "data-testid": `db-report-${r.key}`, title: r.path },
        text(r.label) || r.key, h("small", {}, r.key));
      item.addEventListener("mousedown", (ev) => {
        const ghost = h("div.db-ghost", {}, r.key);
        document.body.append(ghost);
        const follow = (e) => { ghost.style.left = `${e.clientX + 8}px`; ghost.style.top = `${e.clientY + 8}px`; };
        follow(ev);
        track(ev, (_dx, _dy, e) => follow(e), (_dx, _dy, e) => {
          ghost.remove();
          const at = cellAt(e.clientX, e.clientY);
          if (!at.inside) return;
          const w = clampWidget({ report: r.key, x: at.x, y: at.y, w: NEW_W, h: NEW_H });
          model.widgets.push(w);
          selected = w;
          changed();
        });
      });
      return item;
    }));
  }

  // -- grid ---------------------------------------------------------------------------------------------------
  function render() {
    if (dragging) return;
    const rows = Math.max(8, ...model.widgets.map((w) => (w.y || 0) + (w.h || 1) + 3));
    grid.style.height = `${rows * ROW}px`;
    grid.style.backgroundSize = `${colWidth()}px ${ROW}px`;
    const mine = errors.filter((e) => e.file === path);
    const clash = new Set();
    model.widgets.forEach((a, i) => model.widgets.forEach((b, j) => { if (i < j && overlaps(a, b)) { clash.add(a); clash.add(b); } }));
    grid.replaceChildren(...model.widgets.map((w, i) => {
      const report = reports.find((r) => r.key === w.report);
      const errs = mine.filter((e) => (e.path || "").startsWith(`widgets[${i}]`));
      const el = h(`div.db-widget${w === selected ? ".selected" : ""}${errs.length ? ".has-error" : ""}${clash.has(w) ? ".overlap" : ""}`,
        { "data-testid": `db-widget-${i}`, "data-report": w.report, onmousedown: () => { if (selected !== w) { selected = w; render(); } } });
      const handle = h("div.db-handle", { "data-testid": `db-move-${i}`, title: "drag to move" },
        h("strong", {}, text(w.title) || text(report?.label) || w.report), " ", h("code", {}, w.report),
        h("button.delete", { "data-testid": `db-remove-${i}`, title: "Remove widget", onmousedown: (ev) => ev.stopPropagation(),
          onclick: () => { model.widgets.splice(i, 1); if (selected === w) selected = null; changed(); } }, "×"));
      const sizer = h("div.db-resize", { "data-testid": `db-resize-${i}`, title: "drag to resize" });
      const body = h("div.db-body", {}, h("span.muted", {}, `${w.w}×${w.h} at (${w.x}, ${w.y})`), report ? "" : h("span.error", {}, " unknown report"),
        ...errs.map((e) => h("div.card-error", {}, `${e.path}: ${e.message}`)));
      el.append(handle, body, sizer);
      place(el, w);
      handle.addEventListener("mousedown", (ev) => {
        selected = w;
        el.classList.add("dragging");
        track(ev, (dx, dy) => place(el, clampWidget({ ...w, x: w.x + dx, y: w.y + dy })), (dx, dy) => {
          if (dx || dy) { Object.assign(w, clampWidget({ ...w, x: w.x + dx, y: w.y + dy })); changed(); } else render();
        });
      });
      sizer.addEventListener("mousedown", (ev) => {
        selected = w;
        track(ev, (dx, dy) => place(el, clampWidget({ ...w, w: w.w + dx, h: w.h + dy })), (dx, dy) => {
          if (dx || dy) { Object.assign(w, clampWidget({ ...w, w: w.w + dx, h: w.h + dy })); changed(); } else render();
        });
      });
      return el;
    }));
    warn.replaceChildren(clash.size ? h("div.banner.warn", {}, `${clash.size} widgets overlap; move them apart`) : "");
    renderPanel();
    toolbar.showErrors(errors);
  }

  function renderPanel() {
    if (!selected || !model.widgets.includes(selected)) {
      selected = null;
      panel.replaceChildren(h("h3", {}, "Dashboard"),
        h("label", {}, "key", h("input", { value: model.key || "", "data-testid": "db-key", oninput: (ev) => { model.key = ev.target.value; session.dirty = true; liveCheck(); } })),
        h("label", {}, "label", h("input", { value: text(model.label), "data-testid": "db-label", oninput: (ev) => {
          model.label = typeof model.label === "object" && model.label ? { ...model.label, "zh-CN": ev.target.value } : ev.target.value; session.dirty = true; liveCheck(); } })),
        h("label", {}, "refresh (seconds)", h("input", { type: "number", min: 10, value: model.refresh ?? "", oninput: (ev) => {
          const n = parseInt(ev.target.value, 10); if (n > 0) model.refresh = n; else delete model.refresh; session.dirty = true; liveCheck(); } })),
        h("p.muted", {}, `${(model.filters || []).length} shared filter(s) (edit them as text). Select a widget to edit it.`));
      return;
    }
    const w = selected;
    const num = (k, min, max) => h("input", { type: "number", min, max, value: w[k], "data-testid": `db-prop-${k}`,
      onchange: (ev) => { w[k] = Number(ev.target.value); clampWidget(w); changed(); } });
    panel.replaceChildren(h("h3", {}, "Widget"),
      h("label", {}, "report", h("select", { "data-testid": "db-prop-report", onchange: (ev) => { w.report = ev.target.value; changed(); } },
        reports.map((r) => h("option", { value: r.key, selected: r.key === w.report }, r.key)))),
      h("label", {}, "title", h("input", { value: text(w.title), "data-testid": "db-prop-title", oninput: (ev) => {
        if (ev.target.value) w.title = ev.target.value; else delete w.title; session.dirty = true; liveCheck(); } })),
      h("label", {}, "click", h("select", { "data-testid": "db-prop-click", onchange: (ev) => { if (ev.target.value) w.click = ev.target.value; else delete w.click; changed(); } },
        CLICKS.map((c) => h("option", { value: c, selected: (w.click || "") === c }, c || "default (drill)")))),
      h("div.db-geometry", {}, h("label", {}, "x", num("x", 0, 11)), h("label", {}, "y", num("y", 0, 200)),
        h("label", {}, "w", num("w", 1, 12)), h("label", {}, "h", num("h", 1, 40))),
      h("button", { onclick: () => { selected = null; render(); } }, "dashboard properties"));
  }

  const { files } = await get(`/api/designer/apps/${encodeURIComponent(app)}/files`);
  reports = files.filter((f) => f.kind === "report").map((f) => ({ key: f.key, label: f.label, path: f.path }));
  renderPalette();
  render();
  new ResizeObserver(debounce(() => render(), 100)).observe(grid);
  session.watch();
}
