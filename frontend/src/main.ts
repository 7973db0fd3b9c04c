// Entry point: read the config Django rendered into the page, wire the views together.
import "./style.css";
// After style.css: the phone rules override the desktop ones of equal specificity.
import "./phone.css";
import { Api } from "./api";
import { ItemDraftStore } from "./classifydraft";
import { keymapDialog } from "./dialogs";
import { $, h } from "./dom";
import { DraftStore, memoryStore, type KeyValueStore } from "./draft";
import { EntryWatch, fetchEntryStatus, studyProgressText } from "./entry";
import { setCatalogue, t } from "./i18n";
import { Outbox, type OutboxStatus } from "./outbox";
import { TaskView } from "./task";
import type { AppConfig } from "./types";
import { workspaceView } from "./workspace";

function storage(): KeyValueStore {
  try {
    localStorage.setItem("safesora.probe", "1");
    localStorage.removeItem("safesora.probe");
    return localStorage;
  } catch {
    return memoryStore();
  }
}

function header(cfg: AppConfig): HTMLElement {
  const next = h("input", { type: "hidden", name: "next", value: location.pathname });
  const lang = h(
    "select",
    { name: "language", id: "language", "aria-label": t("language"),
      onchange: (e: Event) => ((e.target as HTMLSelectElement).form as HTMLFormElement).submit() },
    cfg.languages.map(([code, name]) =>
      h("option", { value: code, selected: code === cfg.lang }, name)),
  );
  const csrf = () => h("input", { type: "hidden", name: "csrfmiddlewaretoken", value: cfg.csrfToken });
  return h(
    "header",
    { class: "top" },
    h("a", { href: cfg.urls.workspace, class: "brand", "data-nav": "workspace" }, t("app_title")),
    h("span", { id: "sync", class: "sync", role: "status", "aria-live": "polite" }),
    h("span", { id: "flash", class: "flash", role: "alert" }),
    h("span", { class: "grow" }),
    h("span", { id: "study-progress", class: "study" },
      studyProgressText(cfg.entry, cfg.entry?.submitted ?? 0) ?? ""),
    h("button", { type: "button", class: "btn small", id: "help", "aria-keyshortcuts": "?",
      onclick: () => document.dispatchEvent(new KeyboardEvent("keydown", { key: "?" })) }, "?"),
    h("form", { method: "post", action: cfg.urls.setlang, class: "lang",
      onsubmit: () => { next.value = location.pathname; } }, csrf(), next, lang),
    h("form", { method: "post", action: cfg.urls.logout }, csrf(),
      h("button", { type: "submit", class: "btn small" }, t("logout"))),
  );
}

function boot(): void {
  const cfg = JSON.parse($("#app-config").textContent!) as AppConfig;
  setCatalogue(cfg.messages);
  document.documentElement.lang = cfg.lang;
  const store = storage();
  const api = new Api(cfg.urls.api, cfg.csrfToken);
  const outbox = new Outbox(store, (item) => api.deliver(item), {
    now: () => Date.now(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
    random: Math.random,
  });
  const drafts = new DraftStore(store);
  drafts.prune();
  new ItemDraftStore(store).prune();
  const app = $("#app");
  let task: TaskView | null = null;
  // Study workers only: after answers are delivered, check the quota and leave when it is met.
  const entry = cfg.entry
    ? new EntryWatch(cfg.entry, {
        fetchStatus: fetchEntryStatus(cfg.entry.status_url),
        onStatus: (s) => task?.onStudyStatus(s),
        go: (url) => location.assign(url),
        pending: () => outbox.pending,
        setTimeout: (fn, ms) => window.setTimeout(fn, ms),
      })
    : null;
  const watchOutbox = (own: (s: OutboxStatus) => void) => {
    outbox.onStatus = entry ? (s) => { own(s); entry.onOutboxStatus(s); } : own;
  };

  const showWorkspace = () => {
    task = null;
    app.replaceChildren(header(cfg), workspaceView(cfg, () => navigate(cfg.urls.task)));
    watchOutbox(() => {});
    outbox.flush();
  };
  const showTask = () => {
    task = new TaskView(cfg, api, outbox, drafts);
    watchOutbox(outbox.onStatus);
    app.replaceChildren(header(cfg), task.root);
    void task.start();
  };
  const route = () => (location.pathname === cfg.urls.task ? showTask() : showWorkspace());
  const navigate = (path: string) => {
    history.pushState(null, "", path);
    route();
  };

  document.addEventListener("click", (e) => {
    const a = (e.target as HTMLElement).closest<HTMLAnchorElement>("a[data-nav]");
    if (a && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      navigate(a.getAttribute("href")!);
    }
  });
  window.addEventListener("popstate", route);
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.defaultPrevented) return;
    if (task?.onKey(e)) e.preventDefault();
    else if (!task && e.key === "?") {
      // The workspace promises the key map too.
      let map = document.getElementById("keymap") as HTMLDialogElement | null;
      if (!map) {
        map = keymapDialog();
        app.append(map);
      }
      if (map.open) map.close();
      else map.showModal();
    }
  });
  // An answer that has not reached the server yet must not vanish with a closed tab.
  window.addEventListener("beforeunload", (e) => {
    if (outbox.pending > 0) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  window.addEventListener("online", () => outbox.flush());
  entry?.start();
  if (!entry?.left) route();
}

boot();
