// The designer's calls to the server: JSON in and out, the CSRF token on every change, one error shape.

let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http_error";
    this.details = err.details || [];
  }
}

export function setCsrf(token) { csrf = token; }

export async function call(method, url, body) {
  const headers = { "Accept": "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(url, init);
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof data === "object" ? data : { error: { message: data } });
  return data;
}

export const get = (url) => call("GET", url);
export const post = (url, body) => call("POST", url, body ?? {});
export const put = (url, body) => call("PUT", url, body);
export const del = (url) => call("DELETE", url);

export function fileUrl(app, path) {
  return `/api/designer/apps/${encodeURIComponent(app)}/files/${path.split("/").map(encodeURIComponent).join("/")}`;
}

// Small DOM helper: h("div.card", {onclick}, child, "text", ...)
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function text(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return value["zh-CN"] ?? value.en ?? Object.values(value)[0] ?? "";
  return String(value);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// Errors as the server gives them ({file, line, col, path, message, hint}), listed with their place.
export function errorList(errors, onPick) {
  if (!errors.length) return h("p.ok", { "data-testid": "no-problems" }, "No problems.");
  return h("ul.problems", {}, errors.map((e) => h("li.problem", {
    onclick: onPick ? () => onPick(e) : null, "data-path": e.path || "", "data-file": e.file || "",
  }, h("span.where", {}, `${e.file}:${e.line}:${e.col}`), " ", e.path ? h("code", {}, e.path) : "", " ",
     e.message, e.hint ? h("span.hint", {}, ` (${e.hint})`) : "")));
}
