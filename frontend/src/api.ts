// The assignments API (issue 4): session auth, CSRF header, JSON in and out.
import { classifyStatus, type OutboxItem, type SendResult } from "./outbox";
import type { ApiErrorBody, Assignment } from "./types";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly csrfToken: string,
  ) {}

  private async post(path: string, body: unknown): Promise<Response> {
    return fetch(this.base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": currentCsrfToken() ?? this.csrfToken,
      },
      body: JSON.stringify(body),
    });
  }

  /** The next pair (or the caller's open one); null when nothing is left (204). */
  async next(opts: { prefetch?: boolean; batch?: string } = {}): Promise<Assignment | null> {
    const body: Record<string, unknown> = {};
    if (opts.prefetch) body.prefetch = true;
    if (opts.batch) body.batch = opts.batch;
    const r = await this.post("assignments/next/", body);
    if (r.status === 204) return null;
    if (!r.ok) throw new ApiError(await detail(r), r.status);
    return (await r.json()) as Assignment;
  }

  /** One outbox delivery attempt: the outbox decides, from the result, whether to retry. */
  async deliver(item: OutboxItem): Promise<SendResult> {
    let r: Response;
    try {
      r = await this.post(`assignments/${encodeURIComponent(item.assignmentId)}/${item.kind}/`,
        item.body);
    } catch (e) {
      return { outcome: "retry", reason: String(e) };
    }
    const outcome = classifyStatus(r.status);
    if (outcome === "done") return { outcome };
    return { outcome, reason: await detail(r) };
  }
}

/**
 * The CSRF cookie as it is now: Django rotates the token when the worker logs in again (say,
 * in another tab after a session expired), and the outbox must then use the new one.
 */
function currentCsrfToken(): string | null {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

async function detail(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as Partial<ApiErrorBody> | null;
    if (body && typeof body.detail === "string") return body.detail;
  } catch {
    // Not JSON (a proxy's error page while the server restarts): the status says enough.
  }
  return `HTTP ${r.status}`;
}
