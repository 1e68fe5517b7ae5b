// The editor of the kinds without a dedicated one (app.yaml, org.yaml, record pages …): a form built from the kind's
// meta-schema — a control per key (text, number, switch, choice list, list of items, texts in several languages),
// checked as you type, problems shown where they are. Saves the same YAML as the other editors.
import { debounce, h, text } from "./api.js";
import { FileSession, Toolbar } from "./session.js";

const blank = (v) => v === undefined || v === "" || (Array.isArray(v) && !v.length);

export async function mountSchemaEditor(root, { app, path, meta, kind, reload }) {
  const session = new FileSession(app, path, { onReload: reload });
  const file = await session.load();
  const rootSchema = meta.schemas[kind];
  let model = file.data ?? {};
  if (typeof model !== "object" || Array.isArray(model)) {
    root.replaceChildren(h("div.banner.error", {}, "This file cannot be read as a mapping. ",
      h("a", { href: `#/app/${app}/edit/${path}?text=1` }, "Open it as text")));
    return;
  }
  let errors = file.errors;
  const body = h("div.schema-editor", { "data-testid": "schema-editor" });
  const toolbar = new Toolbar(session, {
    onSave: async () => { const saved = await session.save({ data: model }); if (saved) { errors = saved.errors; markErrors(); } },
    onPick: (e) => { const el = body.querySelector(`[data-path="${e.path}"]`); if (el) { el.scrollIntoView({ block: "center" }); el.querySelector("input,select")?.focus(); } },
    extra: [h("a.small", { href: `#/app/${app}/edit/${path}?text=1` }, "edit as text")],
  });
  session.onPublishErrors = (errs) => { errors = errs; markErrors(); };
  root.replaceChildren(toolbar.el, toolbar.banners, h("p.muted", {}, rootSchema.description || ""), body, toolbar.problems);

  const changed = (redraw = false) => { session.dirty = true; toolbar.status("Unsaved changes"); if (redraw) render(); live(); };
  const live = debounce(async () => {
    try { errors = (await session.check({ data: model })).errors; markErrors(); } catch (err) { toolbar.status(`Check failed: ${err.message}`); }
  }, 300);

  // a $ref among the registered meta-schemas ("app.json#/$defs/key", "#/$defs/node"): [schema, the document it is in]
  function resolve(s, doc) {
    for (let n = 0; s && s.$ref && n < 20; n++) {
      const [name, pointer] = s.$ref.split("#");
      const target = name ? meta.schemas[name.replace(/\.json$/, "")] : doc;
      s = (pointer || "").split("/").filter(Boolean).reduce((o, k) => o?.[k], target);
      doc = target;
    }
    return [s || {}, doc];
  }
  const typeOf = (v) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v === "boolean" ? "boolean" : typeof v === "number" ? "number" : "string");
  const fits = (s, v) => {
    if (v === undefined) return true;
    const t = typeOf(v);
    const types = s.enum ? [...new Set(s.enum.map(typeOf))] : s.const !== undefined ? [typeOf(s.const)] : Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ["object"] : s.items ? ["array"] : [];
    return !types.length || types.includes(t) || (t === "number" && types.includes("integer"));
  };
  // the alternative of a oneOf / anyOf the value is written as (the first when there is no value yet)
  function alternative(s, doc, v) {
    const alts = (s.oneOf || s.anyOf).map((a) => resolve(a, doc));
    return alts.find(([a]) => fits(a, v) && (v === undefined || typeOf(v) !== "object" || !a.required || a.required.every((k) => k in v))) || alts.find(([a]) => fits(a, v)) || alts[0];
  }
  const isText = (raw) => typeof raw?.$ref === "string" && raw.$ref.endsWith("/$defs/text");
  const testid = (p) => `se-${p || "root"}`;

  // a text in several languages: a plain string, or {zh-CN: …, en: …}
  function textControl(value, set, p) {
    if (value && typeof value === "object") {
      const langs = Object.keys(value);
      return h("div.se-langs", {}, langs.map((lang) => h("label.inline", {}, `${lang} `, h("input", { value: value[lang] ?? "", "data-testid": `${testid(p)}-${lang}`,
        oninput: (ev) => { value[lang] = ev.target.value; changed(); } }))));
    }
    return h("div.se-langs", {}, h("input", { value: value ?? "", "data-testid": testid(p), oninput: (ev) => { set(ev.target.value === "" ? undefined : ev.target.value); changed(); } }),
      h("button.small", { "data-testid": `${testid(p)}-languages`, title: "give it in several languages", onclick: () => { set({ "zh-CN": value ?? "", en: value ?? "" }); changed(true); } }, "+ languages"));
  }

  function control(raw, doc, value, set, p) {
    if (isText(raw)) return textControl(value, set, p);
    let [s, d] = resolve(raw, doc);
    if (s.oneOf || s.anyOf) {
      const alts = (s.oneOf || s.anyOf).map((a) => resolve(a, d)[0]);
      // a string or a list of strings: edit as a list
      const listAlt = alts.find((a) => a.type === "array");
      if (listAlt && alts.every((a) => ["string", "array"].includes(a.type) || a.enum)) {
        [s, d] = resolve(listAlt, d);
        const list = Array.isArray(value) ? value : blank(value) ? [] : [value];
        return scalarList(s, d, list, (v) => set(v.length === 1 && !Array.isArray(value) && value !== undefined ? v[0] : v), p);
      }
      [s, d] = alternative(s, d, value);
    }
    if (s.const !== undefined) return h("code", { "data-testid": testid(p) }, String(s.const));
    if (s.enum) {
      return h("select", { "data-testid": testid(p), onchange: (ev) => { const v = s.enum.find((x) => String(x) === ev.target.value); set(v); changed(); } },
        h("option", { value: "" }, s.default !== undefined ? `— (${s.default})` : "—"), s.enum.map((x) => h("option", { value: String(x), selected: value === x }, String(x))));
    }
    const type = Array.isArray(s.type) ? (s.type.includes(typeOf(value)) ? typeOf(value) : s.type[0]) : s.type || (s.properties ? "object" : s.items ? "array" : "any");
    if (type === "boolean") {
      return h("input", { type: "checkbox", checked: !!value, "data-testid": testid(p), onchange: (ev) => { set(ev.target.checked || undefined); changed(); } });
    }
    if (type === "integer" || type === "number") {
      return h("input", { type: "number", value: value ?? "", min: s.minimum, max: s.maximum, step: type === "integer" ? 1 : "any", "data-testid": testid(p), style: "width:120px",
        oninput: (ev) => { const n = Number(ev.target.value); set(ev.target.value === "" || Number.isNaN(n) ? undefined : n); changed(); } });
    }
    if (type === "string") {
      return h("input", { value: value ?? "", "data-testid": testid(p), placeholder: s.format || s.pattern || "", title: s.description || "",
        oninput: (ev) => { set(ev.target.value === "" ? undefined : ev.target.value); changed(); } });
    }
    if (type === "array") {
      const [items, idoc] = resolve(s.items || {}, d);
      const list = Array.isArray(value) ? value : [];
      const scalar = !isText(s.items) && !items.properties && !items.items && !items.oneOf && ["string", "integer", "number"].includes(Array.isArray(items.type) ? items.type[0] : items.type || (items.enum ? "string" : ""));
      if (scalar) return scalarList(items, idoc, list, set, p);
      return objectList(s.items || {}, d, list, set, p);
    }
    if (type === "object") return objectControl(s, d, value && typeof value === "object" && !Array.isArray(value) ? value : undefined, set, p);
    // anything: as JSON
    return h("input", { value: value === undefined ? "" : JSON.stringify(value), "data-testid": testid(p), placeholder: "JSON",
      oninput: (ev) => { try { set(ev.target.value === "" ? undefined : JSON.parse(ev.target.value)); ev.target.classList.remove("invalid"); changed(); } catch (_) { ev.target.classList.add("invalid"); } } });
  }

  // a list of words or numbers: comma separated (enums: ticked)
  function scalarList(items, doc, list, set, p) {
    if (items.enum) {
      const chosen = new Set(list);
      return h("div.checks", { "data-testid": testid(p) }, items.enum.map((x) => h("label.inline", {}, h("input", { type: "checkbox", checked: chosen.has(x),
        "data-testid": `${testid(p)}-${x}`, onchange: (ev) => { if (ev.target.checked) chosen.add(x); else chosen.delete(x); set(items.enum.filter((y) => chosen.has(y))); changed(); } }), String(x))));
    }
    const numeric = ["integer", "number"].includes(items.type);
    return h("input", { value: list.join(", "), "data-testid": testid(p), placeholder: "a, b, c", oninput: (ev) => {
      const v = ev.target.value.split(",").map((x) => x.trim()).filter(Boolean).map((x) => (numeric && x !== "" && !Number.isNaN(Number(x)) ? Number(x) : x));
      set(v); changed();
    } });
  }

  function objectList(raw, doc, list, set, p) {
    const [items, idoc] = resolve(raw, doc);
    const fresh = () => {
      const [s] = items.oneOf ? alternative(items, idoc, undefined) : [items];
      if (!s.properties && !s.type) return "";
      if (s.type === "string") return "";
      return Object.fromEntries((s.required || []).map((k) => [k, ""]));
    };
    return h("div.se-list", { "data-testid": testid(p) },
      list.map((item, i) => h("div.se-item", { "data-path": `${p}[${i}]` },
        h("div.se-item-head", {}, h("strong", {}, `${i + 1}. `, item && typeof item === "object" ? text(item.label) || item.key || item.username || item.name || item.id || "" : ""),
          h("button.small", { title: "move up", "data-testid": `se-up-${p}[${i}]`, onclick: () => { if (i) { list.splice(i - 1, 0, list.splice(i, 1)[0]); changed(true); } } }, "↑"),
          h("button.delete", { title: "remove", "data-testid": `se-remove-${p}[${i}]`, onclick: () => { list.splice(i, 1); set(list); changed(true); } }, "×")),
        control(raw, doc, item, (v) => { list[i] = v ?? (item && typeof item === "object" ? {} : ""); }, `${p}[${i}]`), h("div.se-errors"))),
      h("button.small", { "data-testid": `se-add-${p}`, onclick: () => { list.push(fresh()); set(list); changed(true); } }, "+ add"));
  }

  function objectControl(s, doc, value, set, p) {
    const obj = value ?? {};
    const put = (k, v) => {
      if (blank(v)) delete obj[k]; else obj[k] = v;
      if (value === undefined && Object.keys(obj).length) set(obj);
      else if (value !== undefined && !Object.keys(obj).length && p) set(undefined);
    };
    const rows = [];
    for (const [k, raw] of Object.entries(s.properties || {})) {
      const [ps] = resolve(raw, doc);
      const here = p ? `${p}.${k}` : k;
      rows.push(h("div.se-row", { "data-path": here }, h("span.prop-name", { title: ps.description || raw.description || "" }, k, (s.required || []).includes(k) ? " *" : ""),
        control(raw, doc, obj[k], (v) => put(k, v), here), h("div.se-errors")));
    }
    if (!s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
      for (const k of Object.keys(obj)) {
        const here = p ? `${p}.${k}` : k;
        rows.push(h("div.se-row", { "data-path": here }, h("span.prop-name", {}, k,
          h("button.delete", { title: "remove", "data-testid": `se-remove-${here}`, onclick: () => { delete obj[k]; set(Object.keys(obj).length ? obj : undefined); changed(true); } }, "×")),
        control(s.additionalProperties, doc, obj[k], (v) => { obj[k] = v; }, here), h("div.se-errors")));
      }
      const name = h("input", { placeholder: "new key", "data-testid": `se-newkey-${p || "root"}`, style: "width:140px" });
      rows.push(h("div.se-row", {}, name, h("button.small", { "data-testid": `se-add-${p || "root"}`, onclick: () => {
        const k = name.value.trim(); if (!k || k in obj) return; obj[k] = ""; set(obj); changed(true); } }, "+ key")));
    }
    return h("div.se-object", {}, rows);
  }

  function render() {
    body.replaceChildren(objectControl(rootSchema, rootSchema, model, (v) => { model = v ?? {}; }, ""));
    markErrors();
  }

  function markErrors() {
    for (const el of body.querySelectorAll(".has-error")) el.classList.remove("has-error");
    for (const el of body.querySelectorAll(".se-errors")) el.replaceChildren();
    for (const e of errors.filter((x) => x.file === path)) {
      let p = e.path || "";
      let el = null;
      while (p && !(el = body.querySelector(`[data-path="${CSS.escape(p)}"]`))) p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "") === p ? "" : p.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (!el) continue;
      el.classList.add("has-error");
      el.querySelector(":scope > .se-errors")?.append(h("div.card-error", {}, `${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`));
    }
    toolbar.showErrors(errors);
  }

  render();
  toolbar.showErrors(errors);
  session.watch();
}
