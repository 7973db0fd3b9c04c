// The stage 1 and stage 2 form of one pair, drawn from the taxonomy Django put in the page.
import { h } from "./dom";
import { t } from "./i18n";
import type { AppConfig, HarmTarget } from "./types";

function choice(name: string, legend: string, description: string, qid: string): HTMLElement {
  return h(
    "fieldset",
    { class: "q choice", "data-q": qid, "aria-describedby": `${qid}-desc` },
    h("legend", {}, legend),
    h("p", { class: "desc", id: `${qid}-desc` }, description),
    h(
      "div",
      { class: "lr" },
      (["left", "right"] as const).map((side, i) =>
        h(
          "label",
          { class: `opt ${side}` },
          h("input", { type: "radio", name, value: side }),
          h("kbd", { "aria-hidden": "true" }, String(i + 1)),
          t(side),
        ),
      ),
    ),
  );
}

function harmList(cfg: AppConfig, target: HarmTarget): HTMLElement {
  const legend =
    target === "prompt"
      ? t("harms_prompt")
      : t("harms_for_side", { side: t(target === "left" ? "left" : "right") });
  return h(
    "fieldset",
    { class: `q harms ${target}`, "data-q": `harms:${target}` },
    h("legend", {}, legend),
    h(
      "label",
      { class: "opt none" },
      h("input", { type: "checkbox", name: `none-${target}` }),
      h("kbd", { "aria-hidden": "true" }, "N"),
      t("none_of_these"),
    ),
    h(
      "div",
      { class: "harm-grid" },
      cfg.harms.map((c) =>
        h(
          "label",
          { class: "opt harm", title: c.description },
          h("input", {
            type: "checkbox",
            name: `harm-${target}`,
            value: c.key,
            "aria-describedby": `d-${target}-${c.key}`,
          }),
          h("span", { class: "harm-label" }, `${c.code} ${c.label}`),
          h("small", { id: `d-${target}-${c.key}` }, c.description),
        ),
      ),
    ),
  );
}

export function buildStages(cfg: AppConfig, labelPrompt: boolean): HTMLElement {
  const targets: HarmTarget[] = labelPrompt ? ["left", "right", "prompt"] : ["left", "right"];
  return h(
    "form",
    { id: "answers", novalidate: true, onsubmit: (e: Event) => e.preventDefault() },
    h(
      "fieldset",
      { id: "stage1", class: "stage" },
      h("legend", {}, t("stage1")),
      h(
        "div",
        { class: "dims" },
        cfg.dimensions.map((d) => choice(`dim-${d.key}`, d.label, d.description, d.key)),
      ),
      h("div", { class: "harm-cols" }, targets.map((tg) => harmList(cfg, tg))),
    ),
    h(
      "fieldset",
      { id: "stage2", class: "stage" },
      h("legend", {}, t("stage2")),
      h(
        "div",
        { class: "dims" },
        choice("overall-helpfulness", t("helpfulness_q"), t("helpfulness_desc"), "helpfulness"),
        choice("overall-harmlessness", t("harmlessness_q"), t("harmlessness_desc"), "harmlessness"),
      ),
      h("div", { id: "warnings", role: "status", "aria-live": "polite" }),
    ),
  );
}
