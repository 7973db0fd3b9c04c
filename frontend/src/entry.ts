// Crowd-platform workers (Prolific, MTurk links): after their answers have reached the server,
// ask how far they are and, once the study's quota is met, send them to the finish URL (which
// records the completion and redirects to the platform's completion page). Workers without a
// study link have no `entry` in the page config and never get here.
import { t } from "./i18n";
import type { OutboxStatus } from "./outbox";
import type { EntryConfig, EntryStatus } from "./types";

export type { EntryStatus };

/** null: the server says this account has no study link (404), so stop asking. */
export type FetchStatus = () => Promise<EntryStatus | null>;

export interface EntryDeps {
  fetchStatus: FetchStatus;
  /** Every status the server reports (the task page keeps its count in step with it). */
  onStatus?: (s: EntryStatus) => void;
  /** Leave the app for this URL (location.assign in the page). */
  go: (url: string) => void;
  /** Answers not yet delivered: never leave while the outbox holds one. */
  pending: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
}

/** Wait before asking again after a failed status request (network error, 5xx, logged out). */
export const RETRY_MS = 3000;
export const MAX_RETRIES = 5;

export class EntryWatch {
  private sent = false; // the outbox sent something since the last check
  private checking = false;
  private again = false; // the outbox drained again while a check was running
  private stopped = false;
  private failures = 0;
  left = false;
  /** The last status the server reported (for the page and for tests). */
  status: EntryStatus | null = null;

  constructor(
    private readonly cfg: EntryConfig,
    private readonly deps: EntryDeps,
  ) {
    // A study with no quota has no completion to send the worker to.
    if (cfg.required <= 0) this.stopped = true;
  }

  /** At page load: a worker who had already finished goes straight to the finish URL. */
  start(): void {
    if (!this.stopped && this.cfg.complete && this.deps.pending() === 0) this.leave(this.cfg.finish_url);
  }

  /** Feed every outbox status here: a check runs each time the outbox drains after sending. */
  onOutboxStatus(s: OutboxStatus): void {
    if (s.state === "sending") this.sent = true;
    else if (s.state === "idle" && this.sent) {
      this.sent = false;
      void this.check();
    }
  }

  /** Ask the server; leave when the quota is met. */
  async check(): Promise<void> {
    if (this.stopped || this.left) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    let retry = false;
    try {
      const status = await this.deps.fetchStatus();
      this.failures = 0;
      if (status === null) {
        this.stopped = true;
      } else {
        this.status = status;
        this.deps.onStatus?.(status);
        if (status.complete) this.leave(status.finish_url || this.cfg.finish_url);
      }
    } catch {
      this.failures += 1;
      retry = this.failures <= MAX_RETRIES;
    } finally {
      this.checking = false;
    }
    if (this.again) {
      this.again = false;
      return this.check();
    }
    if (retry) this.deps.setTimeout(() => void this.check(), RETRY_MS * this.failures);
  }

  private leave(url: string): void {
    if (this.left) return;
    if (this.deps.pending() > 0) {
      // An answer is still on its way: the next drain checks again (and leaves then).
      this.sent = true;
      return;
    }
    this.left = true;
    this.deps.go(url);
  }
}

/**
 * How many pairs a study worker still has to submit, so the task page neither prefetches a
 * pair the study does not need nor shows one after the last answer (the worker would see it
 * flash up before being sent to the completion page). Counts what the server has counted
 * (at page load, then each delivered submit, corrected by every status check) plus the
 * submits still in the outbox.
 */
export class StudyQuota {
  private counted_: number;
  private required_: number;

  constructor(cfg: EntryConfig | null) {
    this.counted_ = cfg?.submitted ?? 0;
    this.required_ = cfg?.required ?? 0; // 0: no study quota
  }

  /** Submits the server has counted, as far as this page knows. */
  get counted(): number {
    return this.counted_;
  }

  /** Pairs the study asks for, as far as this page knows (0: no quota). */
  get required(): number {
    return this.required_;
  }

  /** A submit the server accepted. */
  delivered(): void {
    this.counted_ += 1;
  }

  /** The server's own figures: its count (a re-sent submit it had already stored must not
   * count twice) and its quota (the researcher may change it while the worker works). */
  corrected(s: EntryStatus): void {
    this.counted_ = s.submitted;
    this.required_ = s.required;
  }

  /** Pairs still to submit beyond those on their way; Infinity for a worker with no study quota. */
  left(pendingSubmits: number): number {
    if (this.required_ <= 0) return Infinity;
    return Math.max(0, this.required_ - this.counted_ - pendingSubmits);
  }
}

/** "Study: 1 of 5 pairs" for the header; null for a worker with no study quota. */
export function studyProgressText(study: { required: number } | null, counted: number): string | null {
  if (!study || study.required <= 0) return null;
  return t("study_progress", { done: Math.min(counted, study.required), required: study.required });
}

/** The status request as the page makes it: 404 means "no study link", other failures throw. */
export function fetchEntryStatus(url: string): FetchStatus {
  return async () => {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return (await r.json()) as EntryStatus;
  };
}
