// Modal dialogs: the key map (?) and skip/report with a reason. Native <dialog> gives focus
// trapping, Esc to close and the right roles for free.
import { h } from "./dom";
import { t } from "./i18n";
import type { ReasonKey, ReportReason } from "./types";

const KEYS: [string, string][] = [
  ["Space / K", "k_play"],
  ["R", "k_restart"],
  ["1 / 2, ← / →", "k_choose"],
  ["N", "k_none"],
  ["Tab / Shift+Tab", "k_move"],
  ["Enter", "k_submit"],
  ["S", "k_speed"],
  ["L", "k_loop"],
  ["Z / X", "k_mute"],
  ["V", "k_reveal"],
  ["?", "k_help"],
  ["Esc", "k_close"],
];

/** The key map dialog: the pairwise keys, or another task kind's list. */
export function keymapDialog(keys: [string, string][] = KEYS): HTMLDialogElement {
  const d = h(
    "dialog",
    { id: "keymap", "aria-labelledby": "keymap-title" },
    h("h2", { id: "keymap-title" }, t("keymap_title")),
    h(
      "table",
      {},
      h(
        "tbody",
        {},
        keys.map(([k, m]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, k)), h("td", {}, t(m)))),
      ),
    ),
    h("form", { method: "dialog" }, h("button", { class: "btn", autofocus: true }, t("close"))),
  );
  return d;
}

export interface ReportChoice {
  kind: "skip" | "report";
  reason: ReasonKey;
  note: string;
}

/** Ask for a reason; resolves with the choice, or null when cancelled. `item`: the task is
 * one item of a classification batch (the title names an item, not a pair). */
export function askReason(
  host: HTMLElement,
  kind: "skip" | "report",
  reasons: ReportReason[],
  item = false,
): Promise<ReportChoice | null> {
  return new Promise((resolve) => {
    const first: ReasonKey = kind === "report" ? "broken_video" : "unsure";
    const note = h("textarea", { id: "reason-note", name: "note", rows: 2, maxlength: 2000 });
    const form = h(
      "form",
      { method: "dialog" },
      h(
        "fieldset",
        {},
        h("legend", {}, t("reason")),
        reasons.map((r) =>
          h(
            "label",
            { class: "opt" },
            h("input", { type: "radio", name: "reason", value: r.key, checked: r.key === first }),
            r.label,
          ),
        ),
      ),
      h("label", { for: "reason-note" }, t("note")),
      note,
      h(
        "div",
        { class: "row" },
        h(
          "button",
          { class: "btn primary", value: "ok", type: "submit", id: "reason-ok" },
          t(kind === "skip" ? "confirm_skip" : "confirm_report"),
        ),
        h("button", { class: "btn", value: "cancel", type: "submit" }, t("cancel")),
      ),
    );
    const d = h(
      "dialog",
      { id: "reason-dialog", "aria-labelledby": "reason-title" },
      h("h2", { id: "reason-title" }, t(kind === "skip" ? (item ? "c_skip_title" : "skip_title") : item ? "c_report" : "report_title")),
      form,
    );
    host.append(d);
    d.addEventListener("close", () => {
      const data = new FormData(form);
      const ok = d.returnValue === "ok";
      d.remove();
      resolve(
        ok ? { kind, reason: (data.get("reason") ?? first) as ReasonKey, note: String(data.get("note") ?? "") } : null,
      );
    });
    d.showModal();
    form.querySelector<HTMLInputElement>("input:checked")?.focus();
  });
}
