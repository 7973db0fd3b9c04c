// Finished answers (submit, skip, report) go to a persisted outbox and are sent with retries
// and backoff: network errors and server restarts delay an answer but never lose it. The
// API's submit is idempotent, so sending the same item twice stores it once.
import type { KeyValueStore } from "./draft";

export type OutboxKind = "submit" | "skip" | "report";

export interface OutboxItem {
  kind: OutboxKind;
  assignmentId: string;
  body: unknown;
  attempts: number;
  queuedAt: number;
}

/** What one send attempt came to. */
export type SendResult =
  | { outcome: "done" }
  | { outcome: "retry"; reason: string } // network error, 5xx, 429, 408: try again later
  | { outcome: "auth"; reason: string } // logged out: keep it, retry after the worker logs in
  | { outcome: "rejected"; reason: string }; // the server refused it for good (e.g. expired)

export type OutboxStatus =
  | { state: "idle" }
  | { state: "sending"; pending: number }
  | { state: "waiting"; pending: number; retryAt: number; reason: string }
  | { state: "auth"; pending: number; reason: string };

/** Backoff before attempt n+1 (n ≥ 1 failures so far): 0.5 s doubling, capped at 15 s. */
export function backoffMs(failures: number, jitter = 0): number {
  const base = Math.min(15000, 500 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 + 0.2 * jitter));
}

/** Classify an HTTP status (0 = no response at all) for the retry loop. */
export function classifyStatus(status: number): SendResult["outcome"] {
  if (status >= 200 && status < 300) return "done";
  if (status === 0 || status >= 500 || status === 429 || status === 408) return "retry";
  if (status === 401 || status === 403) return "auth";
  return "rejected";
}

const KEY = "safesora.outbox";

export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export class Outbox {
  private items: OutboxItem[];
  private timer: unknown = null;
  private busy = false;
  status: OutboxStatus = { state: "idle" };
  /** Called on every status change and with every item the server refused. */
  onStatus: (s: OutboxStatus) => void = () => {};
  onRejected: (item: OutboxItem, reason: string) => void = () => {};
  onDelivered: (item: OutboxItem) => void = () => {};

  constructor(
    private readonly store: KeyValueStore,
    private readonly send: (item: OutboxItem) => Promise<SendResult>,
    private readonly clock: Scheduler,
  ) {
    let loaded: OutboxItem[] = [];
    try {
      loaded = JSON.parse(store.getItem(KEY) ?? "[]");
    } catch {
      loaded = [];
    }
    this.items = Array.isArray(loaded) ? loaded : [];
  }

  get pending(): number {
    return this.items.length;
  }

  /** Answers of one kind not delivered yet. */
  pendingOf(kind: OutboxKind): number {
    return this.items.filter((i) => i.kind === kind).length;
  }

  has(assignmentId: string): boolean {
    return this.items.some((i) => i.assignmentId === assignmentId);
  }

  add(kind: OutboxKind, assignmentId: string, body: unknown): void {
    // One final answer per assignment: a second one for the same id replaces the first.
    this.items = this.items.filter((i) => i.assignmentId !== assignmentId);
    this.items.push({ kind, assignmentId, body, attempts: 0, queuedAt: this.clock.now() });
    this.persist();
    this.flush();
  }

  /** Send everything now (also cancels a pending backoff wait: e.g. the browser came online). */
  flush(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.items.length > 0) {
        const item = this.items[0];
        this.setStatus({ state: "sending", pending: this.items.length });
        let result: SendResult;
        try {
          result = await this.send(item);
        } catch (e) {
          result = { outcome: "retry", reason: String(e) };
        }
        if (result.outcome === "done" || result.outcome === "rejected") {
          this.items = this.items.filter((i) => i !== item);
          this.persist();
          if (result.outcome === "done") this.onDelivered(item);
          else this.onRejected(item, result.reason);
          continue;
        }
        item.attempts += 1;
        this.persist();
        let wait = backoffMs(item.attempts, this.clock.random() * 2 - 1);
        if (result.outcome === "auth") {
          // Logged out: keep the answer and try again slowly, so a log-in in another tab
          // delivers it without any action here.
          wait = Math.max(wait, 5000);
          this.setStatus({ state: "auth", pending: this.items.length, reason: result.reason });
        } else {
          const retryAt = this.clock.now() + wait;
          this.setStatus({ state: "waiting", pending: this.items.length, retryAt, reason: result.reason });
        }
        this.timer = this.clock.setTimeout(() => {
          this.timer = null;
          void this.run();
        }, wait);
        return;
      }
      this.setStatus({ state: "idle" });
    } finally {
      this.busy = false;
    }
  }

  private setStatus(s: OutboxStatus): void {
    this.status = s;
    this.onStatus(s);
  }

  private persist(): void {
    try {
      this.store.setItem(KEY, JSON.stringify(this.items));
    } catch {
      // Storage full: the item is still in memory and the page warns before unload.
    }
  }
}
