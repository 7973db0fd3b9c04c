// Answers in progress survive a reload, a crash or a closed tab: kept in localStorage per
// assignment, dropped once the answer is handed to the outbox.
import type { Answers } from "./types";

export interface Draft {
  answers: Answers;
  watched: { left: boolean; right: boolean };
  revealed: boolean;
  stage1Ms: number; // time spent before stage 1 was complete (accumulated across reloads)
  stage2Ms: number;
  savedAt: number;
}

export type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key"> & {
  readonly length: number;
};

const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** Drafts of one kind, kept per assignment under their own key prefix (so no kind mistakes
 * another's drafts for broken ones); `parse` takes a stored value or refuses it (null). */
export class KeptDrafts<T extends { savedAt: number }> {
  constructor(
    readonly store: KeyValueStore,
    private readonly prefix: string,
    private readonly parse: (value: unknown) => T | null,
  ) {}

  save(assignmentId: string, draft: Omit<T, "savedAt">, now = Date.now()): void {
    try {
      this.store.setItem(this.prefix + assignmentId, JSON.stringify({ ...draft, savedAt: now }));
    } catch {
      // A full or disabled storage must not stop the worker; the answer is still on screen.
    }
  }

  load(assignmentId: string): T | null {
    const raw = this.store.getItem(this.prefix + assignmentId);
    if (!raw) return null;
    try {
      return this.parse(JSON.parse(raw));
    } catch {
      return null;
    }
  }

  clear(assignmentId: string): void {
    this.store.removeItem(this.prefix + assignmentId);
  }

  /** Forget drafts of assignments long expired, so storage does not grow for ever. */
  prune(now = Date.now()): number {
    const stale: string[] = [];
    for (let i = 0; i < this.store.length; i++) {
      const k = this.store.key(i);
      if (!k || !k.startsWith(this.prefix)) continue;
      const d = this.load(k.slice(this.prefix.length));
      if (!d || now - d.savedAt > MAX_AGE_MS) stale.push(k);
    }
    stale.forEach((k) => this.store.removeItem(k));
    return stale.length;
  }
}

/** A pair's drafts. */
export class DraftStore extends KeptDrafts<Draft> {
  constructor(store: KeyValueStore) {
    super(store, "safesora.draft.", (value) => {
      const d = value as Draft | null;
      return d && d.answers && d.answers.harms ? d : null;
    });
  }
}

/** An in-memory store (tests, or a browser where localStorage is blocked). */
export function memoryStore(): KeyValueStore {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    key: (i: number) => [...m.keys()][i] ?? null,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}
