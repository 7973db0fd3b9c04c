// The answer form of one pair: what an input's change means for the answers, bringing the
// form in line with the answers and the locks, and where focus goes next. TaskView owns the
// answers; these functions read and write the DOM only.
import { $, h } from "./dom";
import { t } from "./i18n";
import * as S from "./state";
import type { Answers, Assignment, HarmKey, HarmTarget, Side } from "./types";

const SIDES: Side[] = ["left", "right"];

/** Whether this pair asks for the prompt's own harm labels as well. */
export const asksPrompt = (a: Assignment): boolean => a.ask_prompt_labels;

/** The answers after one input changed. Inputs are named `<kind>-<key>` (questions.ts). */
export function applyInput(a: Answers, el: HTMLInputElement): Answers {
  const [kind, key] = el.name.split(/-(.*)/s);
  if (kind === "dim") return { ...a, sub: { ...a.sub, [key]: el.value as Side } };
  if (kind === "overall") return { ...a, [key]: el.value as Side };
  if (kind === "harm") return S.toggleHarm(a, key as HarmTarget, el.value as HarmKey, el.checked);
  if (kind === "none") return S.setNone(a, key as HarmTarget, el.checked);
  return a;
}

export interface FormState {
  answers: Answers;
  dims: string[];
  labelPrompt: boolean;
  /** Both videos watched (or the batch does not ask for it). */
  unlocked: boolean;
  watched: Record<Side, boolean>;
}

/** Bring the form under `root` in line with the answers and the locks. */
export function syncForm(root: HTMLElement, s: FormState): void {
  const form = root.querySelector<HTMLFormElement>("#answers");
  if (!form) return;
  const a = s.answers;
  const s1 = S.stage1Complete(a, s.dims, s.labelPrompt);
  ($("#stage1", form) as HTMLFieldSetElement).disabled = !s.unlocked;
  ($("#stage2", form) as HTMLFieldSetElement).disabled = !s.unlocked || !s1;
  for (const input of form.querySelectorAll<HTMLInputElement>("input")) {
    const [kind, key] = input.name.split(/-(.*)/s);
    if (kind === "dim") input.checked = a.sub[key] === input.value;
    else if (kind === "overall") input.checked = a[key as "helpfulness"] === input.value;
    else if (kind === "harm") {
      input.checked = !!a.harms[key as HarmTarget]?.includes(input.value as HarmKey);
    } else if (kind === "none") input.checked = S.isNone(a, key as HarmTarget);
  }
  const missing = S.stage1Missing(a, s.dims, s.labelPrompt);
  for (const q of form.querySelectorAll<HTMLElement>(".q")) {
    const id = q.dataset.q!;
    const done = id === "helpfulness" || id === "harmlessness"
      ? a[id] !== null : !missing.includes(id);
    q.classList.toggle("done", done);
  }
  $("#warnings", form).replaceChildren(...S.contradictions(a, s.dims).map((w) =>
    h("p", { class: "warning" }, t(`warn_${w}`))));
  const complete = s1 && S.stage2Complete(a);
  ($("#submit", root) as HTMLButtonElement).disabled = !complete || !s.unlocked;
  $("#missing", root).textContent = !s.unlocked ? "" : !s1
    ? t("stage1_left", { n: missing.length })
    : complete ? "" : t("stage2_left");
  for (const side of SIDES) {
    const w = $(`[data-watched=${side}]`, root);
    w.textContent = s.watched[side] ? `✓ ${t("watched")}` : t("not_watched");
    w.classList.toggle("yes", s.watched[side]);
  }
  $("#lock", root).textContent = s.unlocked ? "" : t("lock_notice");
}

/** Focus question `id` (its chosen answer, else its first) when it can take input. */
export function focusQuestion(root: HTMLElement, id: string): void {
  const q = root.querySelector<HTMLElement>(`.q[data-q="${id}"]`);
  const input = q?.querySelector<HTMLInputElement>("input:checked") ??
    q?.querySelector<HTMLInputElement>("input");
  if (input && !input.disabled) {
    input.focus();
    q!.scrollIntoView({ block: "nearest" });
  }
}

/** After answering `q`: on to the next open question, else to Submit when it is enabled. */
export function focusAfter(root: HTMLElement, q: HTMLElement): void {
  const all = [...root.querySelectorAll<HTMLElement>(".q")];
  const rest = all.slice(all.indexOf(q) + 1);
  const nextQ = rest.find((x) => !x.classList.contains("done") && !x.closest("fieldset:disabled"));
  if (nextQ) focusQuestion(root, nextQ.dataset.q!);
  else if (!($("#submit", root) as HTMLButtonElement).disabled) $("#submit", root).focus();
}

/** Submit pressed too early: focus the first question still open. */
export function focusFirstOpen(root: HTMLElement, a: Answers, dims: string[], labelPrompt: boolean) {
  const first = S.stage1Missing(a, dims, labelPrompt)[0];
  if (first) focusQuestion(root, first);
  else if (!S.stage2Complete(a)) focusQuestion(root, a.helpfulness ? "harmlessness" : "helpfulness");
}

/**
 * Key 1/2 (or N) on the focused question: picks (or toggles "none of these") the input the key
 * names and returns it with its question, for the caller to record; null when focus is not on
 * an enabled answer or the question has no such input.
 */
export function answerFocusedByKey(
  value: Side | "none",
): { q: HTMLElement; input: HTMLInputElement } | null {
  const el = document.activeElement as HTMLInputElement | null;
  const q = el?.closest<HTMLElement>(".q");
  if (!q || el!.disabled) return null;
  if (value === "none") {
    const none = q.querySelector<HTMLInputElement>("input[name^=none-]");
    if (!none) return null;
    none.checked = !none.checked;
    return { q, input: none };
  }
  const radio = q.querySelector<HTMLInputElement>(`input[type=radio][value=${value}]`);
  if (!radio) return null;
  radio.checked = true;
  return { q, input: radio };
}
