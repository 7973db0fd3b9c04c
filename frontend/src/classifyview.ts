// One classification task on screen: the item, its question, the answers in progress and
// their draft. TaskView (task.ts) claims, prefetches and hands answers to the outbox for
// both kinds; it gives an assignment of a classification batch to an ItemTask.
import "./classify.css";
import { drawItemControls, renderItem, syncItemForm } from "./classifyform";
import type { ItemDraftStore } from "./classifydraft";
import { handleItemKey, itemKeymapDialog } from "./classifykeys";
import * as C from "./classifystate";
import { flash } from "./pairview";
import { ItemPlayer, prepareItem, whenShown, type ItemMedia } from "./itemplayer";
import { t } from "./i18n";
import type { AppConfig, Assignment, ItemPayload, Question } from "./types";

/** A classification assignment with its item starting to load. */
export interface ItemLoaded {
  a: Assignment;
  media: ItemMedia;
}

export const isItemTask = (a: Assignment): boolean => a.batch.kind === "classification";

export const loadingItem = (a: Assignment): ItemLoaded => ({ a, media: prepareItem(a.item!) });

export interface ItemTaskHooks {
  submit(body: ItemPayload): void;
  skipOrReport(kind: "skip" | "report"): void;
}

export class ItemTask {
  readonly keymap = itemKeymapDialog();
  readonly main: HTMLElement;
  private readonly q: Question;
  private readonly player: ItemPlayer;
  private answers: C.ItemAnswers;
  private revealed: boolean;
  private ms: number;
  private mark = performance.now();

  constructor(
    cfg: AppConfig,
    private readonly loaded: ItemLoaded,
    private readonly drafts: ItemDraftStore,
    private readonly hooks: ItemTaskHooks,
  ) {
    const a = loaded.a;
    this.q = a.question!;
    const draft = drafts.load(a.id);
    this.answers = draft?.answers ?? C.emptyItemAnswers();
    this.revealed = draft?.revealed ?? false;
    this.ms = draft?.ms ?? 0;
    this.player = new ItemPlayer(loaded.media, draft?.viewed ?? false, {
      onViewed: () => this.onViewed(),
      onChange: () => drawItemControls(this.main, this.player),
    });
    this.main = renderItem(a, this.q, this.player,
      { blur: a.batch.blur_videos && !this.revealed, lang: cfg.lang },
      { submit: () => this.submit(), skipOrReport: hooks.skipOrReport,
        reveal: () => this.reveal(), onInput: (el) => this.onInput(el) });
    if (draft) queueMicrotask(() => flash(t("draft_restored")));
  }

  get id(): string {
    return this.loaded.a.id;
  }

  get unlocked(): boolean {
    return !this.loaded.a.batch.must_watch || this.player.viewed;
  }

  /** Show the task in `root`; with `mark`, measure "next-item-shown" from it (benchmark). */
  mount(root: HTMLElement, mark: string | null): void {
    root.replaceChildren(this.keymap, this.main);
    this.refresh();
    drawItemControls(this.main, this.player);
    if (this.unlocked) this.focusFirstOpen();
    if (!mark) return;
    void whenShown(this.loaded.media).then(() =>
      requestAnimationFrame(() => performance.measure("next-item-shown", mark)));
  }

  private refresh(): void {
    syncItemForm(this.main, this.answers, this.q, this.player, this.unlocked);
  }

  private onViewed(): void {
    const wasIn = this.main.querySelector("#stage1")?.contains(document.activeElement);
    this.saveDraft();
    this.refresh();
    if (this.unlocked && !wasIn) this.focusFirstOpen();
  }

  private onInput(el: HTMLInputElement): void {
    const a = this.answers;
    if (el.name === "harmful") this.answers = C.setHarmful(a, el.value === "yes");
    else if (el.name === "cat") this.answers = C.toggleCategory(a, this.q, el.value, el.checked);
    else if (el.name === "none") this.answers = C.setNone(a, el.checked);
    else if (el.name === "confidence") this.answers = C.setConfidence(a, Number(el.value));
    else if (el.name === "reason") this.answers = C.setReason(a, el.value);
    this.saveDraft();
    this.refresh();
  }

  private account(): void {
    const now = performance.now();
    this.ms += now - this.mark;
    this.mark = now;
  }

  private saveDraft(): void {
    this.account();
    this.drafts.save(this.id, {
      answers: this.answers, viewed: this.player.viewed, revealed: this.revealed, ms: this.ms,
    });
  }

  private focus(selector: string): boolean {
    const el = this.main.querySelector<HTMLInputElement>(selector);
    if (!el || el.disabled) return false;
    el.focus();
    el.closest(".q")?.scrollIntoView({ block: "nearest" });
    return true;
  }

  /** The first question still open, else Submit. */
  private focusFirstOpen(): void {
    const first = C.itemMissing(this.answers, this.q)[0];
    if (first === "harmful") this.focus("input[name=harmful]:checked, input[name=harmful]");
    else if (first === "categories") this.focus("input[name=cat]:checked, input[name=cat], input[name=none]");
    else this.focus("#submit");
  }

  private set(next: C.ItemAnswers): void {
    this.answers = next;
    this.saveDraft();
    this.refresh();
  }

  private harmful(yes: boolean): boolean {
    if (!this.q.ask_harmful) {
      if (yes || !this.q.ask_categories) return false;
      this.set(C.setNone(this.answers, !this.answers.none));
    } else this.set(C.setHarmful(this.answers, yes));
    if (yes) this.focus("input[name=cat]:checked, input[name=cat]");
    else this.focusFirstOpen();
    return true;
  }

  private category(n: number): boolean {
    const c = this.q.taxonomy.categories[n];
    if (!c || !this.q.ask_categories) return false;
    const on = !this.answers.categories.includes(c.key) || !C.categoriesOpen(this.answers, this.q);
    this.set(C.toggleCategory(this.answers, this.q, c.key, on));
    this.focus(`input[name=cat][value="${CSS.escape(c.key)}"]`);
    return true;
  }

  private reveal(): void {
    if (this.revealed) return;
    this.revealed = true;
    this.main.querySelector(".side.blurred")?.classList.remove("blurred");
    this.main.querySelector("#reveal")?.remove();
    this.saveDraft();
  }

  submit(): void {
    if (!this.unlocked || !C.itemComplete(this.answers, this.q)) {
      if (this.unlocked) this.focusFirstOpen();
      return;
    }
    this.account();
    this.hooks.submit(C.toItemPayload(this.answers, this.q, { ms: this.ms }));
  }

  pause(): void {
    this.player.pause();
  }

  /** The answer went to the outbox (`done`) or the task left the screen: let go of it. */
  release(done: boolean): void {
    this.player.release();
    if (done) this.drafts.clear(this.id);
  }

  onKey(e: KeyboardEvent): boolean {
    return handleItemKey(e, {
      player: this.player, keymap: this.keymap, unlocked: this.unlocked,
      reveal: () => this.reveal(),
      harmful: (yes) => this.harmful(yes),
      category: (n) => this.category(n),
      confidence: (n) => {
        this.set(C.setConfidence(this.answers, n));
        return this.focus(`input[name=confidence][value="${n}"]`);
      },
      focus: (q) => q === "reason" ? this.focus("#reason-text")
        : this.focus("input[name=confidence]:checked, input[name=confidence]"),
      submit: () => this.submit(),
      skipOrReport: this.hooks.skipOrReport,
    });
  }
}
