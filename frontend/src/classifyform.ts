// The markup of a classification task: the prompt or caption when there is one, the one item
// (image or video with its controls), the question the batch asks, and bringing that form in
// line with the answers. No state of its own: ItemTask (classifyview.ts) owns it.
import { CATEGORY_KEYS, categoriesOpen, categoryText, itemMissing, type ItemAnswers } from "./classifystate";
import { $, h } from "./dom";
import { t } from "./i18n";
import type { ItemPlayer } from "./itemplayer";
import { formatTime } from "./player";
import type { Assignment, Hint, Question } from "./types";

export interface ItemActions {
  submit(): void;
  skipOrReport(kind: "skip" | "report"): void;
  reveal(): void;
  onInput(el: HTMLInputElement): void;
}

function yesNo(): HTMLElement {
  return h("fieldset", { class: "q choice", "data-q": "harmful", "aria-describedby": "harmful-desc" },
    h("legend", {}, t("c_harmful_q")),
    h("p", { class: "desc", id: "harmful-desc" }, t("c_harmful_desc")),
    h("div", { class: "lr" },
      ([["yes", "Y", "c_yes"], ["no", "N", "c_no"]] as const).map(([value, key, label]) =>
        h("label", { class: `opt ${value}` }, h("input", { type: "radio", name: "harmful", value }),
          h("kbd", { "aria-hidden": "true" }, key), t(label)))));
}

function categoryList(q: Question, lang: string): HTMLElement {
  return h("fieldset", { class: "q harms", "data-q": "categories" },
    h("legend", {}, t("c_categories_q")),
    q.ask_harmful ? null : h("label", { class: "opt none" },
      h("input", { type: "checkbox", name: "none" }),
      h("kbd", { "aria-hidden": "true" }, "N"), t("none_of_these")),
    h("div", { class: "harm-grid" }, q.taxonomy.categories.map((c, i) => {
      const text = categoryText(c, lang);
      const key = CATEGORY_KEYS[i];
      return h("label", { class: "opt harm", title: text.description },
        h("input", { type: "checkbox", name: "cat", value: c.key, "aria-describedby": `d-${c.key}`,
          "aria-keyshortcuts": key }),
        h("span", { class: "harm-label" }, key ? h("kbd", { "aria-hidden": "true" }, key) : null,
          " ", text.label),
        h("small", { id: `d-${c.key}` }, text.description));
    })));
}

function confidence(): HTMLElement {
  return h("fieldset", { class: "q choice", "data-q": "confidence", "aria-describedby": "conf-desc" },
    h("legend", {}, t("c_confidence")),
    h("p", { class: "desc", id: "conf-desc" }, t("c_confidence_desc")),
    h("div", { class: "lr five" }, [1, 2, 3, 4, 5].map((n) =>
      h("label", { class: "opt" }, h("input", { type: "radio", name: "confidence", value: n }),
        String(n)))));
}

function reason(): HTMLElement {
  return h("div", { class: "q reason", "data-q": "reason" },
    h("label", { for: "reason-text" }, t("c_reason"), " ", h("kbd", { "aria-hidden": "true" }, "T")),
    h("input", { type: "text", id: "reason-text", name: "reason", maxlength: 500,
      autocomplete: "off", enterkeyhint: "send" }));
}

export function buildItemForm(q: Question, lang: string): HTMLFormElement {
  return h("form", { id: "answers", class: "classify", novalidate: true,
    onsubmit: (e: Event) => e.preventDefault() },
  h("fieldset", { id: "stage1", class: "stage" },
    h("legend", {}, t("c_question")),
    q.ask_harmful ? yesNo() : null,
    q.ask_categories ? categoryList(q, lang) : null,
    h("div", { class: "dims" }, q.ask_confidence ? confidence() : null, q.ask_reason ? reason() : null)));
}

/** A machine's suggested answer, marked as such; nothing in it takes focus, so the keyboard
 * flow is the form's. */
function hintNote(hint: Hint, q: Question, lang: string): HTMLElement {
  const parts: string[] = [];
  if (hint.harmful !== null) parts.push(t(hint.harmful ? "c_hint_harmful" : "c_hint_harmless"));
  if (hint.categories !== null && (hint.harmful !== false || hint.categories.length)) {
    const labels = hint.categories.map((key) => {
      const c = q.taxonomy.categories.find((x) => x.key === key);
      return c ? categoryText(c, lang).label : key;
    });
    parts.push(t("c_hint_categories",
      { list: labels.length ? labels.join(", ") : t("c_hint_no_category") }));
  }
  return h("aside", { class: "hint", id: "hint", role: "note", "aria-label": t("c_hint_tag") },
    h("span", { class: "tag" }, t("c_hint_tag")),
    h("p", {}, t("c_hint_by"), " ", h("strong", { id: "hint-text" }, parts.join("; "))),
    h("p", { class: "desc" }, t("c_hint_note")));
}

function controls(p: ItemPlayer, blur: boolean, reveal: () => void): HTMLElement {
  const video = p.media.kind === "video";
  return h("div", { class: "controls", role: "group", "aria-label": t("c_playback") },
    video ? [
      h("button", { type: "button", class: "btn", id: "play", onclick: () => p.toggle() }),
      h("button", { type: "button", class: "btn", id: "restart", onclick: () => p.restart() },
        t("c_restart")),
      h("input", { type: "range", id: "scrub", min: 0, max: 1000, value: 0, "aria-label": t("scrubber"),
        oninput: (e: Event) => p.seek(Number((e.target as HTMLInputElement).value) / 1000) }),
      h("span", { id: "time", class: "time" }, "0:00.0"),
      h("button", { type: "button", class: "btn", id: "speed", "aria-label": t("speed"),
        onclick: () => p.toggleSpeed() }),
      h("button", { type: "button", class: "btn", id: "loop", onclick: () => p.toggleLoop() }, t("loop")),
      h("button", { type: "button", class: "btn small mute", id: "mute", onclick: () => p.toggleMute() }),
    ] : null,
    blur ? h("button", { type: "button", class: "btn warn", id: "reveal", onclick: reveal },
      t("c_reveal")) : null);
}

export function renderItem(
  a: Assignment, q: Question, p: ItemPlayer, opts: { blur: boolean; lang: string },
  actions: ItemActions,
): HTMLElement {
  const form = buildItemForm(q, opts.lang);
  form.addEventListener("change", (e) => actions.onInput(e.target as HTMLInputElement));
  form.addEventListener("input", (e) => {
    if ((e.target as HTMLInputElement).name === "reason") actions.onInput(e.target as HTMLInputElement);
  });
  const text = a.prompt?.text;
  const main = h("main", { class: "pair item", "data-assignment": a.id, "data-media": p.media.kind },
    text ? h("section", { class: "prompt", "aria-label": t("prompt") },
      h("span", { class: "tag" }, t("prompt")), h("p", { id: "prompt-text" }, text)) : null,
    h("section", { class: "stagearea" },
      h("div", { class: "videos" }, h("figure", { class: `side single${opts.blur ? " blurred" : ""}` },
        h("figcaption", {}, h("strong", {}, t("c_item")),
          h("span", { class: "watched", "data-watched": "item" })),
        h("div", { class: "vbox", "data-slot": "item" }))),
      controls(p, opts.blur, actions.reveal),
      h("p", { id: "lock", class: "lock", role: "status" })),
    h("section", { class: "questions" }, a.hint ? hintNote(a.hint, q, opts.lang) : null, form,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn primary", id: "submit", onclick: actions.submit },
          t("submit")),
        h("span", { id: "missing", class: "missing" }),
        h("span", { class: "grow" }),
        h("button", { type: "button", class: "btn", id: "skip",
          onclick: () => actions.skipOrReport("skip") }, t("skip")),
        h("button", { type: "button", class: "btn", id: "report",
          onclick: () => actions.skipOrReport("report") }, t("c_report"))),
      a.batch.instructions ? h("details", { class: "instructions" },
        h("summary", {}, t("instructions")), h("p", {}, a.batch.instructions)) : null));
  p.media.el.setAttribute("alt", t("c_item"));
  p.media.el.setAttribute("aria-label", t("c_item"));
  $("[data-slot=item]", main).append(p.media.el);
  return main;
}

/** Bring the form under `root` in line with the answers and the lock. */
export function syncItemForm(root: HTMLElement, a: ItemAnswers, q: Question, p: ItemPlayer,
  unlocked: boolean): void {
  const form = root.querySelector<HTMLFormElement>("#answers");
  if (!form) return;
  ($("#stage1", form) as HTMLFieldSetElement).disabled = !unlocked;
  const open = categoriesOpen(a, q);
  for (const input of form.querySelectorAll<HTMLInputElement>("input")) {
    if (input.name === "harmful") input.checked = a.harmful === (input.value === "yes");
    else if (input.name === "cat") {
      input.checked = a.categories.includes(input.value);
      input.disabled = !open;
    } else if (input.name === "none") input.checked = a.none;
    else if (input.name === "confidence") input.checked = a.confidence === Number(input.value);
    else if (input.name === "reason" && input.value !== a.reason && document.activeElement !== input) {
      input.value = a.reason;
    }
  }
  const missing = itemMissing(a, q);
  for (const el of form.querySelectorAll<HTMLElement>(".q")) {
    const id = el.dataset.q!;
    // The categories are answered once "harmful" is (when asked) and nothing is missing.
    const answered = id === "harmful" ? !missing.includes(id)
      : id === "categories" ? !missing.length && (!q.ask_harmful || a.harmful !== null)
        : id === "confidence" ? a.confidence !== null : a.reason !== "";
    el.classList.toggle("done", answered);
    el.classList.toggle("closed", id === "categories" && !open);
  }
  ($("#submit", root) as HTMLButtonElement).disabled = !unlocked || missing.length > 0;
  $("#missing", root).textContent = unlocked && missing.length
    ? t("c_left", { n: missing.length }) : "";
  const w = $("[data-watched=item]", root);
  w.textContent = p.viewed ? `✓ ${t("c_viewed")}` : "";
  w.classList.toggle("yes", p.viewed);
  $("#lock", root).textContent = unlocked ? ""
    : t(p.media.kind === "video" ? "c_lock_video" : "c_lock_image");
}

export function drawItemControls(root: HTMLElement, p: ItemPlayer): void {
  const play = root.querySelector("#play");
  if (!play || p.media.kind !== "video") return;
  const v = p.media.el;
  play.textContent = v.paused ? t("c_play") : t("c_pause");
  const scrub = $("#scrub", root) as HTMLInputElement;
  const d = isFinite(v.duration) ? v.duration : 0;
  if (document.activeElement !== scrub || !v.paused) {
    scrub.value = String(d ? Math.round((v.currentTime / d) * 1000) : 0);
  }
  $("#time", root).textContent = `${formatTime(v.currentTime)} / ${formatTime(d)}`;
  $("#speed", root).textContent = v.playbackRate === 1 ? "1×" : "0.5×";
  $("#loop", root).setAttribute("aria-pressed", String(v.loop));
  const mute = $("#mute", root);
  mute.textContent = v.muted ? t("unmute") : t("mute");
  mute.setAttribute("aria-pressed", String(v.muted));
}
