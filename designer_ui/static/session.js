// One open definition file: its version token, saving (conflicts never overwrite), watching the disk, the
// toolbar every editor shares (save, publish, status, conflict and changed-on-disk banners) and the problems list.
import { ApiError, errorList, fileUrl, get, h, post, put } from "./api.js";

export class FileSession {
  constructor(app, path, { onReload } = {}) {
    this.app = app;
    this.path = path;
    this.token = null;
    this.errors = [];
    this.dirty = false;
    this.onReload = onReload;
    this.watchTimer = null;
    this.listeners = [];
  }

  async load() {
    const file = await get(fileUrl(this.app, this.path));
    this.token = file.token;
    this.errors = file.errors;
    this.dirty = false;
    return file;
  }

  // payload: {data} or {content}; returns the saved file (with errors of the whole app)
  async save(payload) {
    this.toolbar?.status("Saving…");
    try {
      const saved = await put(fileUrl(this.app, this.path), { token: this.token, ...payload });
      this.token = saved.token;
      this.errors = saved.errors;
      this.dirty = false;
      this.toolbar?.hideBanners();
      this.toolbar?.status(saved.valid ? "Saved — the app checks out" : `Saved as draft — ${saved.errors.length} problem(s)`);
      this.toolbar?.showErrors(saved.errors);
      return saved;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.toolbar?.conflict(err.message);
        this.toolbar?.status("Not saved: conflict");
        return null;
      }
      this.toolbar?.status(`Not saved: ${err.message}`);
      throw err;
    }
  }

  async check(payload) {
    const out = await post(`/api/designer/apps/${encodeURIComponent(this.app)}/check`, { path: this.path, ...payload });
    this.errors = out.errors;
    return out;
  }

  watch(ms = 1500) {
    this.stop();
    this.watchTimer = setInterval(async () => {
      if (!document.body.contains(this.toolbar?.el)) return this.stop();
      try {
        const now = await get(`/api/designer/apps/${encodeURIComponent(this.app)}/tokens/${this.path}`);
        if (this.token && now.token !== this.token) this.toolbar?.changedOnDisk();
      } catch (_) { /* offline for a moment: try again next tick */ }
    }, ms);
  }

  stop() { if (this.watchTimer) clearInterval(this.watchTimer); this.watchTimer = null; }
}

export class Toolbar {
  constructor(session, { onSave, onPick, extra = [] }) {
    this.session = session;
    session.toolbar = this;
    this.onPick = onPick;
    this.statusEl = h("span.status", { "data-testid": "status" });
    this.message = h("input.publish-message", { placeholder: "What changed? (publish message)", "data-testid": "publish-message" });
    this.banners = h("div.banners");
    this.problems = h("div.problems-box", { "data-testid": "problems" });
    this.el = h("div.toolbar", {},
      h("span.file", {}, `${session.app} / ${session.path}`),
      ...extra,
      h("button.primary", { onclick: onSave, "data-testid": "save" }, "Save draft"),
      this.message,
      h("button", { onclick: () => this.publish(), "data-testid": "publish" }, "Publish"),
      this.statusEl);
  }

  status(text) { this.statusEl.textContent = text; }

  hideBanners() { this.banners.replaceChildren(); }

  conflict(message) {
    this.banners.replaceChildren(h("div.banner.error", { "data-testid": "conflict" },
      h("strong", {}, "Conflict: "), message, " ",
      h("button", { onclick: () => this.session.onReload?.() }, "Reload the file (your unsaved changes are dropped)")));
  }

  changedOnDisk() {
    if (this.banners.querySelector("[data-testid=changed-on-disk]")) return;
    this.banners.append(h("div.banner.warn", { "data-testid": "changed-on-disk" },
      "This file was changed on disk since you opened it (by someone else or by hand). Saving now would be refused. ",
      h("button", { onclick: () => this.session.onReload?.() }, "Reload it")));
  }

  showErrors(errors) {
    const mine = errors.filter((e) => e.file === this.session.path);
    const other = errors.filter((e) => e.file !== this.session.path);
    this.problems.replaceChildren(
      h("h3", {}, `Problems (${errors.length})`),
      errorList(mine, this.onPick),
      other.length ? h("details", { open: true }, h("summary", {}, `${other.length} in other files of the app`), errorList(other)) : "");
  }

  async publish() {
    const message = this.message.value.trim();
    if (!message) { this.status("Write what changed before publishing"); this.message.focus(); return; }
    if (this.session.dirty) { this.status("Save the draft before publishing"); return; }
    this.status("Publishing…");
    try {
      const v = await post(`/api/designer/apps/${encodeURIComponent(this.session.app)}/publish`, { message });
      this.message.value = "";
      const git = v.git && v.git.committed ? ` (git ${v.git.commit.slice(0, 8)})` : "";
      this.status(v.changed ? `Published as version ${v.number}${git}` : `Nothing new: version ${v.number} is the same`);
      this.banners.replaceChildren(h("div.banner.ok", { "data-testid": "published" }, `Published version ${v.number}.`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const errors = err.details.map((d) => ({ file: d.file, line: d.line, col: d.col, path: d.path, message: d.message, hint: d.hint }));
        this.showErrors(errors);
        this.banners.replaceChildren(h("div.banner.error", { "data-testid": "publish-refused" },
          `Publish refused: ${err.message}`));
        this.session.onPublishErrors?.(errors);
        this.status("Publish refused");
      } else {
        this.status(`Publish failed: ${err.message}`);
      }
    }
  }
}
