import { describe, expect, it } from "vitest";
import { DraftStore, memoryStore } from "./draft";
import * as S from "./state";

describe("draft persistence", () => {
  it("saves and restores answers, watched state and timings per assignment", () => {
    const store = memoryStore();
    const answers = S.toggleHarm({ ...S.emptyAnswers(), sub: { correctness: "right" } }, "left", "hate", true);
    new DraftStore(store).save("a1", {
      answers, watched: { left: true, right: false }, revealed: true, stage1Ms: 5000, stage2Ms: 0,
    });
    // A new page (a reload) reading the same storage gets the same answer back.
    const restored = new DraftStore(store).load("a1");
    expect(restored?.answers).toEqual(answers);
    expect(restored?.watched).toEqual({ left: true, right: false });
    expect(restored?.revealed).toBe(true);
    expect(restored?.stage1Ms).toBe(5000);
    expect(new DraftStore(store).load("a2")).toBeNull();
  });

  it("clears a draft once answered and prunes old or corrupt ones", () => {
    const store = memoryStore();
    const drafts = new DraftStore(store);
    const d = { answers: S.emptyAnswers(), watched: { left: false, right: false }, revealed: false, stage1Ms: 0, stage2Ms: 0 };
    drafts.save("old", d, 0);
    drafts.save("new", d, 10 * 24 * 3600 * 1000);
    drafts.save("gone", d);
    drafts.clear("gone");
    store.setItem("safesora.draft.bad", "{not json");
    store.setItem("other.key", "kept");
    expect(drafts.prune(10 * 24 * 3600 * 1000 + 1)).toBe(2);
    expect(drafts.load("new")).not.toBeNull();
    expect(drafts.load("old")).toBeNull();
    expect(drafts.load("gone")).toBeNull();
    expect(store.getItem("other.key")).toBe("kept");
  });
});
