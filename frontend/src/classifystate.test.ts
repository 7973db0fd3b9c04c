import { describe, expect, it } from "vitest";
import { ItemDraftStore } from "./classifydraft";
import * as C from "./classifystate";
import { DraftStore, memoryStore } from "./draft";
import type { Question } from "./types";

const cat = (key: string) => ({
  key, label_en: key.toUpperCase(), label_zh: `${key}-中文`, description_en: `${key} en`,
  description_zh: "",
});

const question = (ask: Partial<Question> = {}): Question => ({
  taxonomy: { name: "t", version: 1, categories: [cat("porn"), cat("violence"), cat("crime")] },
  ask_harmful: true, ask_categories: true, ask_reason: true, ask_confidence: true, ...ask,
});

describe("classification answers", () => {
  it("needs harmful, then a category for a harmful item; sends categories in taxonomy order", () => {
    const q = question();
    let a = C.emptyItemAnswers();
    expect(C.itemMissing(a, q)).toEqual(["harmful"]);
    a = C.setHarmful(a, true);
    expect(C.itemMissing(a, q)).toEqual(["categories"]);
    a = C.toggleCategory(a, q, "crime", true);
    a = C.toggleCategory(a, q, "porn", true);
    a = C.setReason(a, "  knife\n in hand ");
    a = C.setConfidence(a, 4);
    expect(C.toItemPayload(a, q, { ms: 1234.6 })).toEqual({
      harmful: true, categories: ["porn", "crime"], reason: "knife in hand", confidence: 4,
      timings: { stage1_ms: 1235 },
    });
  });

  it("ticking a category answers harmful; 'not harmful' sends no categories but keeps them", () => {
    const q = question();
    let a = C.toggleCategory(C.emptyItemAnswers(), q, "violence", true);
    expect(a.harmful).toBe(true);
    a = C.setHarmful(a, false);
    expect(C.categoriesOpen(a, q)).toBe(false);
    expect(C.toItemPayload(a, q, { ms: 0 })).toMatchObject({ harmful: false, categories: [] });
    a = C.setHarmful(a, true);
    expect(C.toItemPayload(a, q, { ms: 0 }).categories).toEqual(["violence"]);
  });

  it("without the harmful question, 'none of these' is the explicit empty answer", () => {
    const q = question({ ask_harmful: false, ask_reason: false, ask_confidence: false });
    let a = C.setReason(C.setConfidence(C.emptyItemAnswers(), 3), "ignored");
    expect(C.itemMissing(a, q)).toEqual(["categories"]);
    a = C.setNone(a, true);
    expect(C.toItemPayload(a, q, { ms: 0 })).toEqual({
      harmful: null, categories: [], timings: { stage1_ms: 0 },
    });
    a = C.toggleCategory(a, q, "porn", true);
    expect(a.none).toBe(false);
    expect(a.harmful).toBeNull();
  });

  it("sends only what the batch asks, refuses an incomplete answer, bounds its inputs", () => {
    const q = question({ ask_categories: false, ask_reason: false, ask_confidence: false });
    expect(() => C.toItemPayload(C.emptyItemAnswers(), q, { ms: 0 })).toThrow();
    const a = C.setHarmful(C.emptyItemAnswers(), false);
    expect(C.toItemPayload(a, q, { ms: 0 })).toEqual({ harmful: false, timings: { stage1_ms: 0 } });
    expect(C.setConfidence(a, 7).confidence).toBeNull();
    expect(C.setReason(a, "x".repeat(900)).reason).toHaveLength(C.REASON_MAX);
  });

  it("labels in the worker's language, English where a translation is missing", () => {
    expect(C.categoryText(cat("crime"), "zh-hans")).toEqual({ label: "crime-中文", description: "crime en" });
    expect(C.categoryText(cat("crime"), "en").label).toBe("CRIME");
  });
});

describe("classification drafts", () => {
  it("survive a reload and live beside pair drafts without either pruning the other", () => {
    const store = memoryStore();
    const q = question();
    const answers = C.setConfidence(C.toggleCategory(C.emptyItemAnswers(), q, "crime", true), 2);
    new ItemDraftStore(store).save("i1", { answers, viewed: true, revealed: false, ms: 900 });
    const restored = new ItemDraftStore(store).load("i1");
    expect(restored?.answers).toEqual(answers);
    expect(restored?.viewed).toBe(true);
    expect(restored?.ms).toBe(900);
    expect(new DraftStore(store).prune()).toBe(0);
    expect(new ItemDraftStore(store).prune()).toBe(0);
    expect(new ItemDraftStore(store).load("i1")).not.toBeNull();
    store.setItem("safesora.itemdraft.bad", "{not json");
    expect(new ItemDraftStore(store).load("bad")).toBeNull();
    expect(new ItemDraftStore(store).prune(Date.now() + 8 * 24 * 3600 * 1000)).toBe(2);
  });
});
