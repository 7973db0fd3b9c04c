// Answers in progress on a classification item survive a reload, like a pair's (draft.ts):
// kept per assignment under their own prefix, so neither store mistakes the other's drafts
// for broken ones.
import { itemAnswersFrom, type ItemAnswers } from "./classifystate";
import type { KeyValueStore } from "./draft";

export interface ItemDraft {
  answers: ItemAnswers;
  viewed: boolean;
  revealed: boolean;
  ms: number; // time on the item, accumulated across reloads
  savedAt: number;
}

const PREFIX = "safesora.itemdraft.";
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export class ItemDraftStore {
  constructor(private readonly store: KeyValueStore) {}

  save(assignmentId: string, draft: Omit<ItemDraft, "savedAt">, now = Date.now()): void {
    try {
      this.store.setItem(PREFIX + assignmentId, JSON.stringify({ ...draft, savedAt: now }));
    } catch {
      // A full or disabled storage must not stop the worker; the answer is still on screen.
    }
  }

  load(assignmentId: string): ItemDraft | null {
    const raw = this.store.getItem(PREFIX + assignmentId);
    if (!raw) return null;
    try {
      const d = JSON.parse(raw) as Partial<ItemDraft>;
      const answers = itemAnswersFrom(d?.answers);
      if (!answers) return null;
      return {
        answers, viewed: d.viewed === true, revealed: d.revealed === true,
        ms: typeof d.ms === "number" ? d.ms : 0, savedAt: Number(d.savedAt) || 0,
      };
    } catch {
      return null;
    }
  }

  clear(assignmentId: string): void {
    this.store.removeItem(PREFIX + assignmentId);
  }

  /** Forget drafts of assignments long expired, so storage does not grow for ever. */
  prune(now = Date.now()): number {
    const stale: string[] = [];
    for (let i = 0; i < this.store.length; i++) {
      const k = this.store.key(i);
      if (!k || !k.startsWith(PREFIX)) continue;
      const d = this.load(k.slice(PREFIX.length));
      if (!d || now - d.savedAt > MAX_AGE_MS) stale.push(k);
    }
    stale.forEach((k) => this.store.removeItem(k));
    return stale.length;
  }
}
