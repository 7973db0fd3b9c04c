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

const PREFIX = "safesora.draft.";
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export class DraftStore {
  constructor(readonly store: KeyValueStore) {}

  save(assignmentId: string, draft: Omit<Draft, "savedAt">, now = Date.now()): void {
    try {
      this.store.setItem(PREFIX + assignmentId, JSON.stringify({ ...draft, savedAt: now }));
    } catch {
      // A full or disabled storage must not stop the worker; the answer is still on screen.
    }
  }

  load(assignmentId: string): Draft | null {
    const raw = this.store.getItem(PREFIX + assignmentId);
    if (!raw) return null;
    try {
      const d = JSON.parse(raw) as Draft;
      return d && d.answers && d.answers.harms ? d : null;
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
