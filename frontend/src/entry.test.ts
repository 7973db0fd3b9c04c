import { describe, expect, it } from "vitest";
import { EntryWatch, MAX_RETRIES, StudyQuota, studyProgressText, type EntryStatus } from "./entry";
import { setCatalogue } from "./i18n";
import type { EntryConfig } from "./types";

const flush = () => new Promise((r) => setTimeout(r, 0));

const CFG: EntryConfig = {
  batch: "study",
  submitted: 0,
  required: 2,
  complete: false,
  status_url: "/api/v1/entry/status/",
  finish_url: "/entry/complete/",
};

function status(submitted: number, required = 2): EntryStatus {
  const complete = submitted >= required;
  return {
    batch: "study", submitted, required, complete,
    completion_url: complete ? "https://app.prolific.com/submissions/complete?cc=X" : null,
    finish_url: "/entry/complete/",
  };
}

/** A watch whose server answers from `replies` (an Error is thrown, null means 404). */
function setup(replies: (EntryStatus | null | Error)[], cfg: Partial<EntryConfig> = {}) {
  const visited: string[] = [];
  const timers: (() => void)[] = [];
  let asked = 0;
  let pending = 0;
  const seen: EntryStatus[] = [];
  const watch = new EntryWatch({ ...CFG, ...cfg }, {
    onStatus: (s) => seen.push(s),
    fetchStatus: async () => {
      const reply = replies[Math.min(asked, replies.length - 1)];
      asked += 1;
      if (reply instanceof Error) throw reply;
      return reply;
    },
    go: (url) => visited.push(url),
    pending: () => pending,
    setTimeout: (fn) => timers.push(fn),
  });
  /** The outbox sends one answer and drains. */
  const delivered = async () => {
    watch.onOutboxStatus({ state: "sending", pending: 1 });
    watch.onOutboxStatus({ state: "idle" });
    await flush();
  };
  return {
    watch, visited, timers, delivered, seen,
    asked: () => asked,
    setPending: (n: number) => { pending = n; },
  };
}

describe("study workers are sent to the finish URL once the quota is met", () => {
  it("asks after each delivery and leaves only when the server says complete", async () => {
    const t = setup([status(1), status(2)]);
    t.watch.onOutboxStatus({ state: "idle" }); // a drain with nothing sent: no request
    await flush();
    expect(t.asked()).toBe(0);
    await t.delivered();
    expect(t.asked()).toBe(1);
    expect(t.visited).toEqual([]);
    expect(t.watch.status?.submitted).toBe(1);
    expect(t.seen.map((s) => s.submitted)).toEqual([1]); // handed to the task page too
    await t.delivered();
    expect(t.visited).toEqual(["/entry/complete/"]);
    await t.delivered(); // gone already: no more requests, no second navigation
    expect(t.asked()).toBe(2);
    expect(t.visited).toHaveLength(1);
  });

  it("stops asking when the account has no study link (404)", async () => {
    const t = setup([null]);
    await t.delivered();
    await t.delivered();
    expect(t.asked()).toBe(1);
    expect(t.visited).toEqual([]);
  });

  it("never asks for a study without a quota", async () => {
    const t = setup([status(5, 0)], { required: 0 });
    await t.delivered();
    expect(t.asked()).toBe(0);
  });

  it("retries a failed request later, a bounded number of times", async () => {
    const t = setup([new Error("offline"), status(2)]);
    await t.delivered();
    expect(t.visited).toEqual([]);
    expect(t.timers).toHaveLength(1);
    t.timers.shift()!();
    await flush();
    expect(t.visited).toEqual(["/entry/complete/"]);

    const down = setup([new Error("offline")]);
    await down.delivered();
    while (down.timers.length) {
      down.timers.shift()!();
      await flush();
    }
    expect(down.asked()).toBe(MAX_RETRIES + 1);
  });

  it("does not leave while an answer is still in the outbox", async () => {
    const t = setup([status(2)]);
    t.setPending(1);
    await t.delivered();
    expect(t.visited).toEqual([]);
    t.setPending(0);
    t.watch.onOutboxStatus({ state: "idle" }); // the last answer is out now
    await flush();
    expect(t.visited).toEqual(["/entry/complete/"]);
  });

  it("checks again when the outbox drains during a check", async () => {
    let release: (s: EntryStatus) => void = () => {};
    const replies = [new Promise<EntryStatus>((r) => { release = r; }), Promise.resolve(status(2))];
    const visited: string[] = [];
    const watch = new EntryWatch(CFG, {
      fetchStatus: () => replies.shift()!,
      go: (url) => visited.push(url),
      pending: () => 0,
      setTimeout: () => 0,
    });
    watch.onOutboxStatus({ state: "sending", pending: 1 });
    watch.onOutboxStatus({ state: "idle" });
    watch.onOutboxStatus({ state: "sending", pending: 1 });
    watch.onOutboxStatus({ state: "idle" });
    release(status(1));
    await flush();
    await flush();
    expect(visited).toEqual(["/entry/complete/"]);
  });

  it("sends a worker who had already finished straight on at page load", () => {
    const done = setup([status(2)], { complete: true, submitted: 2 });
    done.watch.start();
    expect(done.visited).toEqual(["/entry/complete/"]);
    expect(done.watch.left).toBe(true);

    const working = setup([status(1)]);
    working.watch.start();
    expect(working.visited).toEqual([]);
    expect(working.asked()).toBe(0);
  });
});

describe("the study's count on the task page", () => {
  it("counts delivered submits and those still on their way", () => {
    const quota = new StudyQuota({ ...CFG, required: 3, submitted: 1 });
    expect(quota.left(0)).toBe(2);
    expect(quota.left(1)).toBe(1); // the pair on screen is the last: nothing to prefetch
    quota.delivered();
    expect(quota.left(0)).toBe(1);
    expect(quota.left(1)).toBe(0); // the last answer is on its way: show no further pair
    expect(quota.left(5)).toBe(0);
  });

  it("takes the server's count when it reports one", () => {
    const quota = new StudyQuota({ ...CFG, required: 3, submitted: 1 });
    quota.delivered();
    quota.delivered(); // a re-sent submit the server had stored already
    expect(quota.left(0)).toBe(0);
    quota.corrected(status(2, 3));
    expect(quota.left(0)).toBe(1);
  });

  it("takes the server's quota when the researcher changed it", () => {
    const quota = new StudyQuota({ ...CFG, required: 1, submitted: 0 });
    quota.delivered();
    expect(quota.left(0)).toBe(0); // as far as the page knows, the study is done
    quota.corrected(status(1, 2)); // the quota was raised meanwhile
    expect(quota.required).toBe(2);
    expect(quota.left(0)).toBe(1);
    expect(quota.left(1)).toBe(0);
    setCatalogue({ study_progress: "Study: {done} of {required} pairs" });
    expect(studyProgressText(quota, quota.counted)).toBe("Study: 1 of 2 pairs");
  });

  it("sets no limit for workers without a study quota", () => {
    expect(new StudyQuota(null).left(3)).toBe(Infinity);
    expect(new StudyQuota({ ...CFG, required: 0 }).left(0)).toBe(Infinity);
  });
});

describe("the study's progress in the header", () => {
  it("says how far the worker is, never beyond the quota", () => {
    setCatalogue({ study_progress: "Study: {done} of {required} pairs" });
    expect(studyProgressText({ ...CFG, required: 5 }, 2)).toBe("Study: 2 of 5 pairs");
    expect(studyProgressText({ ...CFG, required: 5 }, 7)).toBe("Study: 5 of 5 pairs");
    expect(studyProgressText(null, 2)).toBeNull();
    expect(studyProgressText({ ...CFG, required: 0 }, 0)).toBeNull();
  });
});
