// Answers in progress on a classification item survive a reload, like a pair's (draft.ts):
// kept per assignment under their own prefix, so neither store mistakes the other's drafts
// for broken ones.
import { itemAnswersFrom, type ItemAnswers } from "./classifystate";
import { KeptDrafts, type KeyValueStore } from "./draft";

export interface ItemDraft {
  answers: ItemAnswers;
  viewed: boolean;
  revealed: boolean;
  ms: number; // time on the item, accumulated across reloads
  savedAt: number;
}

/** A classification item's drafts. */
export class ItemDraftStore extends KeptDrafts<ItemDraft> {
  constructor(store: KeyValueStore) {
    super(store, "safesora.itemdraft.", (value) => {
      const d = value as Partial<ItemDraft> | null;
      const answers = itemAnswersFrom(d?.answers);
      if (!d || !answers) return null;
      return {
        answers, viewed: d.viewed === true, revealed: d.revealed === true,
        ms: typeof d.ms === "number" ? d.ms : 0, savedAt: Number(d.savedAt) || 0,
      };
    });
  }
}
