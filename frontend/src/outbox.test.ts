import { describe, expect, it } from "vitest";
import { memoryStore } from "./draft";
import { backoffMs, classifyStatus, Outbox, type OutboxItem, type SendResult } from "./outbox";

/** A fake clock: timers run only when the test advances time. */
function fakeClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      timers = timers.filter((t) => t.id !== id);
    },
    random: () => 0.5, // no jitter
    async advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      due.forEach((t) => t.fn());
      await flush();
    },
    pending: () => timers.map((t) => t.at - now),
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("retry and backoff", () => {
  it("backs off 0.5 s, 1 s, 2 s … up to 15 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffMs(n))).toEqual([
      500, 1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ]);
    expect(backoffMs(1, 1)).toBe(600);
    expect(backoffMs(1, -1)).toBe(400);
  });

  it("retries network errors and 5xx, keeps auth failures, drops refusals", () => {
    expect(classifyStatus(0)).toBe("retry");
    expect(classifyStatus(502)).toBe("retry");
    expect(classifyStatus(429)).toBe("retry");
    expect(classifyStatus(403)).toBe("auth");
    expect(classifyStatus(409)).toBe("rejected");
    expect(classifyStatus(201)).toBe("done");
  });

  it("keeps an answer through failures and delivers it once the server is back", async () => {
    const clock = fakeClock();
    const store = memoryStore();
    const results: SendResult["outcome"][] = ["retry", "retry", "done"];
    const sent: OutboxItem[] = [];
    const outbox = new Outbox(store, async (item) => {
      sent.push({ ...item });
      const outcome = results.shift()!;
      return outcome === "done" ? { outcome } : { outcome, reason: "offline" };
    }, clock);
    const delivered: string[] = [];
    outbox.onDelivered = (i) => delivered.push(i.assignmentId);
    outbox.add("submit", "a1", { x: 1 });
    await flush();
    expect(outbox.status.state).toBe("waiting");
    expect(clock.pending()).toEqual([500]);
    // A reload now would find the answer in storage.
    expect(JSON.parse(store.getItem("safesora.outbox")!)[0].assignmentId).toBe("a1");
    await clock.advance(500);
    expect(clock.pending()).toEqual([1000]);
    await clock.advance(1000);
    expect(outbox.status.state).toBe("idle");
    expect(delivered).toEqual(["a1"]);
    expect(sent.length).toBe(3);
    expect(outbox.pending).toBe(0);
    expect(JSON.parse(store.getItem("safesora.outbox")!)).toEqual([]);
  });

  it("survives a reload: a new outbox on the same storage sends what was left", async () => {
    const clock = fakeClock();
    const store = memoryStore();
    const first = new Outbox(store, async () => ({ outcome: "retry", reason: "down" }), clock);
    first.add("skip", "a2", { reason: "unsure" });
    await flush();
    const bodies: unknown[] = [];
    const second = new Outbox(store, async (item) => {
      bodies.push(item.body);
      return { outcome: "done" };
    }, fakeClock());
    expect(second.pending).toBe(1);
    second.flush();
    await flush();
    expect(bodies).toEqual([{ reason: "unsure" }]);
  });

  it("reports a refused answer and moves on to the next one", async () => {
    const clock = fakeClock();
    const outcomes: SendResult[] = [{ outcome: "rejected", reason: "expired" }, { outcome: "done" }];
    const outbox = new Outbox(memoryStore(), async () => outcomes.shift()!, clock);
    const rejected: string[] = [];
    outbox.onRejected = (item, reason) => rejected.push(`${item.assignmentId}:${reason}`);
    outbox.add("submit", "a1", {});
    outbox.add("submit", "a2", {});
    await flush();
    await flush();
    expect(rejected).toEqual(["a1:expired"]);
    expect(outbox.pending).toBe(0);
  });

  it("'online' (flush) sends at once instead of waiting out the backoff", async () => {
    const clock = fakeClock();
    let up = false;
    const outbox = new Outbox(memoryStore(), async () =>
      up ? { outcome: "done" } : { outcome: "retry", reason: "down" }, clock);
    outbox.add("submit", "a1", {});
    await flush();
    expect(outbox.status.state).toBe("waiting");
    up = true;
    outbox.flush();
    await flush();
    expect(outbox.status.state).toBe("idle");
    expect(clock.pending()).toEqual([]);
  });
});
