// The workspace: the open batches' instructions, the worker's counts and a start button.
import { h } from "./dom";
import { t } from "./i18n";
import type { AppConfig } from "./types";

export function workspaceView(cfg: AppConfig, onStart: () => void): HTMLElement {
  const start = h(
    "button",
    { type: "button", class: "btn primary big", id: "start", onclick: onStart },
    t("start"),
  );
  const view = h(
    "main",
    { class: "workspace", id: "workspace" },
    h("h1", {}, t("welcome", { name: cfg.username })),
    h(
      "ul",
      { class: "counts", "aria-label": t("your_counts") },
      h("li", {}, h("strong", { id: "count-today" }, String(cfg.counts.today)), " ", t("count_today")),
      h("li", {}, h("strong", { id: "count-total" }, String(cfg.counts.total)), " ", t("count_total")),
    ),
    cfg.batches.length
      ? h(
          "section",
          { class: "batches", "aria-label": t("instructions") },
          h("h2", {}, t("instructions")),
          cfg.batches.map((b) =>
            h("article", { class: "batch" }, h("h3", {}, b.name),
              h("p", { class: "instr" }, b.instructions || t("no_instructions"))),
          ),
        )
      : h("p", { class: "empty" }, t("no_batches")),
    start,
    h("p", { class: "hint" }, t("keymap_hint")),
  );
  queueMicrotask(() => start.focus());
  return view;
}
