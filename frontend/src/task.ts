// The task page: one pair at a time, the next one prefetched, no page reloads.
import {
  answerFocusedByKey, applyInput, asksPrompt, focusAfter, focusFirstOpen, focusQuestion, syncForm,
} from "./answerform";
import { Api, ApiError } from "./api";
import { ItemDraftStore } from "./classifydraft";
import { ItemTask, type ItemLoaded } from "./classifyview";
import { askReason, keymapDialog } from "./dialogs";
import { h } from "./dom";
import type { DraftStore } from "./draft";
import { StudyQuota, studyProgressText } from "./entry";
import { t } from "./i18n";
import type { Outbox, OutboxStatus } from "./outbox";
import { handleTaskKey } from "./keys";
import { doneView, drawControls, drawStatus, flash, messageView, renderPair } from "./pairview";
import { DualPlayer, measureWhenPlayable } from "./player";
import * as S from "./state";
import { isItemLoaded, loading, type Loaded, type PairLoaded } from "./taskload";
import type {
  Answers, AppConfig, EntryStatus, GiveUpPayload, ItemPayload, Side, SubmitPayload,
} from "./types";

interface Current extends PairLoaded {
  answers: Answers;
  revealed: boolean;
  stage1Ms: number;
  stage2Ms: number;
  mark: number;
}


export class TaskView {
  readonly root: HTMLElement;
  private cur: Current | null = null;
  private next: Loaded | null | "none" = null; // "none": the server had nothing more (204)
  /** The classification task on screen (this.cur is the pair on screen). */
  private item: ItemTask | null = null;
  private readonly itemDrafts: ItemDraftStore;
  private fetching = false;
  private waitingForNext = false;
  private readonly player: DualPlayer;
  private readonly keymap = keymapDialog();
  private readonly dims: string[];
  private switchMark = false;
  /** A study worker (Prolific, MTurk link) claims only from the study's batch. */
  private readonly batch: string | undefined;
  private readonly quota: StudyQuota;
  /** The study's last answer is on its way: claim and show nothing more; the entry watch
   * sends the worker to the completion page once it is delivered. */
  private finishing = false;

  constructor(
    private readonly cfg: AppConfig,
    private readonly api: Api,
    private readonly outbox: Outbox,
    private readonly drafts: DraftStore,
  ) {
    this.dims = cfg.dimensions.map((d) => d.key);
    this.itemDrafts = new ItemDraftStore(drafts.store);
    this.batch = cfg.entry?.batch;
    this.quota = new StudyQuota(cfg.entry);
    this.player = new DualPlayer({
      onWatched: () => this.onWatched(),
      onChange: () => this.drawControls(),
    });
    this.root = h("div", { id: "task", class: "task" }, this.keymap);
    outbox.onDelivered = (item) => {
      this.cfg.counts.today += 1;
      this.cfg.counts.total += 1;
      if (item.kind === "submit") {
        this.quota.delivered();
        this.drawStudyProgress();
      }
    };
    outbox.onRejected = (item, reason) => {
      if (this.finishing && item.kind === "submit") {
        // That answer did not count: the study needs another pair after all.
        this.finishing = false;
        this.waitingForNext = true;
        this.showMessage(t("loading"));
      }
      flash(t("status_rejected", { reason }), true);
    };
    outbox.onStatus = (s) => {
      this.drawStatus(s);
      if (s.state === "idle") this.afterOutboxIdle();
    };
  }

  /** Show the first pair: resume the open one (answers restored from the draft) or claim. */
  async start(): Promise<void> {
    this.drawStatus(this.outbox.status);
    this.outbox.flush();
    await this.loadCurrent();
  }

  private async loadCurrent(): Promise<void> {
    this.showMessage(t("loading"));
    // An answer still in the outbox means the server may still think that pair is open.
    if (this.outbox.pending > 0) {
      this.waitingForNext = true;
      return;
    }
    if (this.next && this.next !== "none") {
      const ready = this.next;
      this.next = null;
      return this.show(ready);
    }
    try {
      const a = await this.api.next({ batch: this.batch });
      if (!a) return this.showDone();
      this.show(loading(a));
    } catch (e) {
      // A study worker's batch that closed (404): nothing left for them, as with a 204.
      if (this.batch && e instanceof ApiError && e.status === 404) return this.showDone();
      this.showMessage(t("error_load", { reason: e instanceof Error ? e.message : String(e) }));
      setTimeout(() => void this.loadCurrent(), 3000);
    }
  }

  private afterOutboxIdle(): void {
    if (this.finishing) return;
    if (this.waitingForNext) {
      this.waitingForNext = false;
      void this.loadCurrent();
    } else {
      void this.prefetch();
    }
  }

  /** Claim the following pair and start loading its videos while the worker works. */
  private async prefetch(): Promise<void> {
    if (!this.currentId || this.next !== null || this.fetching || this.outbox.pending > 0) return;
    // The pair on screen is the last one the study needs.
    if (this.studyPairsLeft() <= 1) return;
    // ?prefetch=0 turns prefetching off: the benchmark's baseline, and a debugging aid.
    if (new URLSearchParams(location.search).get("prefetch") === "0") return;
    this.fetching = true;
    try {
      const a = await this.api.next({ prefetch: true, batch: this.batch });
      if (!a) this.next = "none";
      else if (a.id !== this.currentId && !this.outbox.has(a.id) && this.next === null) {
        this.next = loading(a);
      }
    } catch (e) {
      if (!(e instanceof ApiError)) setTimeout(() => void this.prefetch(), 5000);
    } finally {
      this.fetching = false;
      // Lets tests and the benchmark see that the next pair is on its way.
      this.root.dataset.prefetched = this.next === null ? "" : this.next === "none" ? "none" : "ready";
    }
  }

  private get currentId(): string | null {
    return this.cur?.a.id ?? this.item?.id ?? null;
  }

  private show(loaded: Loaded): void {
    // A prefetch that landed while we were waiting may hold this very pair.
    if (this.next && this.next !== "none" && this.next.a.id === loaded.a.id) this.next = null;
    if (isItemLoaded(loaded)) return this.showItem(loaded);
    const draft = this.drafts.load(loaded.a.id);
    this.cur = {
      ...loaded,
      answers: draft?.answers ?? S.emptyAnswers(),
      revealed: draft?.revealed ?? false,
      stage1Ms: draft?.stage1Ms ?? 0,
      stage2Ms: draft?.stage2Ms ?? 0,
      mark: performance.now(),
    };
    this.render();
    this.player.attach(loaded.videos, draft?.watched ?? { left: false, right: false });
    this.refresh();
    if (draft) flash(t("draft_restored"));
    this.measureSwitch(loaded.videos);
    if (this.outbox.pending === 0) void this.prefetch();
  }

  private showItem(loaded: ItemLoaded): void {
    this.item = new ItemTask(this.cfg, loaded, this.itemDrafts, {
      submit: (body) => {
        performance.mark("pair-submit"), (this.switchMark = true), this.finish("submit", body);
      },
      skipOrReport: (kind) => void this.skipOrReport(kind),
    });
    // Submit → next item shown, for the benchmark, as measureSwitch does for pairs.
    this.item.mount(this.root, this.switchMark ? "pair-submit" : null);
    this.switchMark = false;
    if (this.outbox.pending === 0) void this.prefetch();
  }

  // Submit → both next videos playable, for the benchmark (performance.measure entries).
  private measureSwitch(videos: Record<Side, HTMLVideoElement>): void {
    if (!this.switchMark) return;
    this.switchMark = false;
    measureWhenPlayable(videos, "next-pair-playable", "pair-submit");
  }

  private render(): void {
    const c = this.cur!;
    const main = renderPair(
      this.cfg, c.a, c.videos, this.player,
      { blur: c.a.batch.blur_videos && !c.revealed, labelPrompt: asksPrompt(c.a) },
      {
        submit: () => this.submit(),
        skipOrReport: (kind) => void this.skipOrReport(kind),
        reveal: () => this.reveal(),
        onInput: (el) => this.onInput(el),
      },
    );
    this.root.replaceChildren(this.keymap, main);
  }

  private onInput(el: HTMLInputElement): void {
    const c = this.cur;
    if (!c) return;
    const before = S.stage1Complete(c.answers, this.dims, asksPrompt(c.a));
    this.account();
    c.answers = applyInput(c.answers, el);
    this.saveDraft();
    this.refresh();
    if (!before && S.stage1Complete(c.answers, this.dims, asksPrompt(c.a))) {
      focusQuestion(this.root, "helpfulness");
    }
  }

  // Time on task goes to the stage the worker is in: stage 1 until it is complete.
  private account(): void {
    const c = this.cur!;
    const now = performance.now();
    const spent = now - c.mark;
    c.mark = now;
    if (S.stage1Complete(c.answers, this.dims, asksPrompt(c.a))) c.stage2Ms += spent;
    else c.stage1Ms += spent;
  }

  private saveDraft(): void {
    const c = this.cur!;
    this.drafts.save(c.a.id, {
      answers: c.answers, watched: { ...this.player.watched }, revealed: c.revealed,
      stage1Ms: c.stage1Ms, stage2Ms: c.stage2Ms,
    });
  }

  get unlocked(): boolean {
    const c = this.cur;
    if (!c) return false;
    return !c.a.batch.must_watch || (this.player.watched.left && this.player.watched.right);
  }

  private onWatched(): void {
    const wasFocusIn = this.root.querySelector("#stage1")?.contains(document.activeElement);
    this.saveDraft();
    this.refresh();
    if (this.unlocked && !wasFocusIn) focusQuestion(this.root, this.dims[0]);
  }

  /** Bring the form in line with the answers and the locks. */
  refresh(): void {
    const c = this.cur;
    if (!c) return;
    syncForm(this.root, {
      answers: c.answers, dims: this.dims, labelPrompt: asksPrompt(c.a),
      unlocked: this.unlocked, watched: this.player.watched,
    });
    this.drawControls();
  }

  private drawControls(): void {
    drawControls(this.root, this.player);
  }

  private drawStatus(s: OutboxStatus): void {
    drawStatus(s, () => this.outbox.status);
  }

  /** 1/2 (or N) on the focused question: answer it and move to the next open one. */
  answerFocused(value: Side | "none"): boolean {
    const answered = this.cur ? answerFocusedByKey(value) : null;
    if (!answered) return false;
    this.onInput(answered.input);
    focusAfter(this.root, answered.q);
    return true;
  }

  get complete(): boolean {
    const c = this.cur;
    return !!c && this.unlocked && S.stage1Complete(c.answers, this.dims, asksPrompt(c.a)) &&
      S.stage2Complete(c.answers);
  }

  submit(): void {
    const c = this.cur;
    if (!c || !this.complete) {
      if (c) focusFirstOpen(this.root, c.answers, this.dims, asksPrompt(c.a));
      return;
    }
    this.account();
    performance.mark("pair-submit");
    this.switchMark = true;
    const body = S.toPayload(c.answers, this.dims, asksPrompt(c.a),
      { stage1_ms: c.stage1Ms, stage2_ms: c.stage2Ms });
    this.finish("submit", body);
  }

  private async skipOrReport(kind: "skip" | "report"): Promise<void> {
    if (!this.currentId) return;
    this.player.pause();
    this.item?.pause();
    const choice = await askReason(this.root, kind, this.cfg.reasons, this.item !== null);
    if (!choice || !this.currentId) return;
    this.switchMark = true;
    performance.mark("pair-submit");
    this.finish(kind, { reason: choice.reason, note: choice.note });
  }

  /** Hand the answer to the outbox and move on at once to the prefetched pair. */
  private finish(
    kind: "submit" | "skip" | "report", body: SubmitPayload | ItemPayload | GiveUpPayload,
  ): void {
    const id = this.currentId!;
    this.outbox.add(kind, id, body);
    this.drafts.clear(id);
    this.player.release();
    this.item?.release(true);
    this.item = null;
    this.cur = null;
    const next = this.next;
    this.next = null;
    this.root.dataset.prefetched = "";
    if (kind === "submit" && this.studyPairsLeft() === 0) {
      // A pair prefetched before the count said so is given back when the study completes.
      this.finishing = true;
      return this.showMessage(t("study_finishing"));
    }
    if (next === "none") return this.showDone();
    if (next) return this.show(next);
    this.waitingForNext = true;
    this.showMessage(t("loading"));
    if (this.outbox.pending === 0) this.afterOutboxIdle();
  }

  private reveal(): void {
    const c = this.cur;
    if (!c || c.revealed) return;
    c.revealed = true;
    this.root.querySelectorAll(".side.blurred").forEach((f) => f.classList.remove("blurred"));
    this.root.querySelector("#reveal")?.remove();
    this.saveDraft();
  }

  private showMessage(text: string): void {
    this.root.replaceChildren(this.keymap, messageView(text));
  }

  private showDone(): void {
    this.cur = null;
    this.item?.release(false);
    this.item = null;
    this.root.replaceChildren(this.keymap, doneView(this.cfg));
  }

  /** Pairs the study still needs beyond the answers on their way (Infinity: no study). */
  private studyPairsLeft(): number {
    return this.quota.left(this.outbox.pendingOf("submit"));
  }

  private drawStudyProgress(): void {
    const el = document.getElementById("study-progress");
    const text = studyProgressText(this.quota, this.quota.counted);
    if (el && text !== null) el.textContent = text;
  }

  /** Each study status the server reports (EntryWatch): keep the count in step, and go on
   * working if the quota turned out not to be met (say, the count at page load was stale).
   * A status asked for before the last answer went out says nothing about it: the check that
   * follows its delivery decides. */
  onStudyStatus(s: EntryStatus): void {
    this.quota.corrected(s);
    this.drawStudyProgress();
    if (this.finishing && !s.complete && this.outbox.pendingOf("submit") === 0) {
      this.finishing = false;
      void this.loadCurrent();
    }
  }

  /** Global keys; returns true when the key was used. */
  onKey(e: KeyboardEvent): boolean {
    if (this.item) return this.item.onKey(e);
    return handleTaskKey(e, {
      player: this.player,
      keymap: this.keymap,
      hasPair: !!this.cur,
      reveal: () => this.reveal(),
      answerFocused: (v) => this.answerFocused(v),
      submit: () => this.submit(),
    });
  }
}
