// The markup of the task page: one pair (prompt, two videos, playback controls, the form),
// the parts of it redrawn as playback and the outbox change, the loading and done messages
// and the header's flash. No state of its own: TaskView owns that.
import { $, h } from "./dom";
import { t } from "./i18n";
import type { OutboxStatus } from "./outbox";
import { type DualPlayer, formatTime } from "./player";
import { buildStages } from "./questions";
import type { AppConfig, Assignment, Side } from "./types";

const SIDES: Side[] = ["left", "right"];

export interface PairActions {
  submit(): void;
  skipOrReport(kind: "skip" | "report"): void;
  reveal(): void;
  onInput(el: HTMLInputElement): void;
}

export function renderPair(
  cfg: AppConfig,
  a: Assignment,
  videos: Record<Side, HTMLVideoElement>,
  player: DualPlayer,
  opts: { blur: boolean; labelPrompt: boolean },
  actions: PairActions,
): HTMLElement {
  const { blur, labelPrompt } = opts;
  const vbox = (side: Side) =>
    h(
      "figure",
      { class: `side ${side}${blur ? " blurred" : ""}`, "data-side": side },
      h(
        "figcaption",
        {},
        h("strong", {}, t(side)),
        h("span", { class: "watched", "data-watched": side }),
        h("button", {
          type: "button", class: "btn small mute", "data-mute": side,
          onclick: () => player.toggleMute(side),
        }),
      ),
      h("div", { class: "vbox", "data-slot": side }),
    );
  const controls = h(
    "div",
    { class: "controls", role: "group", "aria-label": t("playback") },
    h("button", { type: "button", class: "btn", id: "play", onclick: () => player.toggle() }),
    h("button", {
      type: "button", class: "btn", id: "restart", onclick: () => player.restart(),
    }, t("restart")),
    h("input", {
      type: "range", id: "scrub", min: 0, max: 1000, value: 0, "aria-label": t("scrubber"),
      oninput: (e: Event) =>
        player.seek((Number((e.target as HTMLInputElement).value) / 1000) *
          player.duration),
    }),
    h("span", { id: "time", class: "time" }, "0:00.0"),
    h("button", {
      type: "button", class: "btn", id: "speed", "aria-label": t("speed"),
      onclick: () => player.setSpeed(player.speed === 1 ? 0.5 : 1),
    }),
    h("button", {
      type: "button", class: "btn", id: "loop", onclick: () => player.toggleLoop(),
    }, t("loop")),
    blur ? h("button", {
      type: "button", class: "btn warn", id: "reveal", onclick: actions.reveal,
    }, t("reveal")) : null,
  );
  const stages = buildStages(cfg, labelPrompt);
  stages.addEventListener("change", (e) => actions.onInput(e.target as HTMLInputElement));
  const main = h(
    "main",
    { class: "pair", "data-assignment": a.id },
    h("section", { class: "prompt", "aria-label": t("prompt") },
      h("span", { class: "tag" }, t("prompt")), h("p", { id: "prompt-text" }, a.prompt?.text ?? "")),
    h("section", { class: "stagearea" },
      h("div", { class: "videos" }, vbox("left"), vbox("right")),
      controls,
      h("p", { id: "lock", class: "lock", role: "status" }),
    ),
    h("section", { class: "questions" }, stages,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn primary", id: "submit",
          onclick: actions.submit }, t("submit")),
        h("span", { id: "missing", class: "missing" }),
        h("span", { class: "grow" }),
        h("button", { type: "button", class: "btn", id: "skip",
          onclick: () => actions.skipOrReport("skip") }, t("skip")),
        h("button", { type: "button", class: "btn", id: "report",
          onclick: () => actions.skipOrReport("report") }, t("report")),
      ),
      a.batch.instructions
        ? h("details", { class: "instructions" }, h("summary", {}, t("instructions")),
          h("p", {}, a.batch.instructions))
        : null,
    ),
  );
  for (const s of SIDES) {
    videos[s].setAttribute("aria-label", t(s));
    $(`[data-slot=${s}]`, main).append(videos[s]);
  }
  return main;
}

export function drawControls(root: HTMLElement, p: DualPlayer): void {
  const play = root.querySelector("#play");
  if (!play || !p.videos) return;
  play.textContent = p.playing ? t("pause") : t("play");
  const scrub = $("#scrub", root) as HTMLInputElement;
  const d = p.duration;
  if (document.activeElement !== scrub || p.playing) {
    scrub.value = String(d ? Math.round((p.currentTime / d) * 1000) : 0);
  }
  $("#time", root).textContent = `${formatTime(p.currentTime)} / ${formatTime(d)}`;
  const speed = $("#speed", root);
  speed.textContent = p.speed === 1 ? "1×" : "0.5×";
  $("#loop", root).setAttribute("aria-pressed", String(p.loop));
  for (const s of SIDES) {
    const b = $(`[data-mute=${s}]`, root);
    const muted = p.videos[s].muted;
    b.textContent = muted ? t("unmute") : t("mute");
    b.setAttribute("aria-pressed", String(muted));
    b.setAttribute("aria-label", `${muted ? t("unmute") : t("mute")} · ${t(s)}`);
  }
}

export function drawStatus(s: OutboxStatus, current: () => OutboxStatus): void {
  const el = document.getElementById("sync");
  if (!el) return;
  el.dataset.state = s.state;
  if (s.state === "idle") el.textContent = t("status_saved");
  else if (s.state === "sending") el.textContent = t("status_sending", { n: s.pending });
  else if (s.state === "auth") el.textContent = t("status_auth", { n: s.pending });
  else {
    const secs = Math.max(1, Math.round((s.retryAt - Date.now()) / 1000));
    el.textContent = t("status_waiting", { s: secs, n: s.pending });
    // Count down while the same wait lasts, so the worker sees it is still trying.
    setTimeout(() => { if (current() === s) drawStatus(s, current); }, 1000);
  }
}

/** A one-line message in place of the pair ("Loading…", an error). */
export function messageView(text: string): HTMLElement {
  return h("main", { class: "message" }, h("p", { role: "status" }, text));
}

/** Nothing left to annotate: say so and lead back to the workspace. */
export function doneView(cfg: AppConfig): HTMLElement {
  return h("main", { class: "message", id: "done" },
    h("h2", {}, t("done_title")), h("p", {}, t("done_text")),
    h("a", { class: "btn primary", href: cfg.urls.workspace, "data-nav": "workspace" },
      t("back_to_workspace")));
}

/** A short note in the header that clears itself after a few seconds. */
export function flash(text: string, error = false): void {
  const el = document.getElementById("flash");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", error);
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 6000);
}
