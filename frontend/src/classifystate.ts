// The answer state of one classification item: pure functions, no DOM, unit-tested with
// Vitest. What the batch asks (harmful, categories, reason, confidence) decides what is
// required; the server (annotations/labels.py) checks the same rules again.
import type { Category, ItemPayload, Question } from "./types";

export interface ItemAnswers {
  harmful: boolean | null;
  /** Ticked category keys, kept while "not harmful" is chosen so a change of mind keeps them. */
  categories: string[];
  /** "None of these": the explicit empty answer when the batch does not ask harmful. */
  none: boolean;
  reason: string;
  confidence: number | null;
}

export const REASON_MAX = 500;

/** The keys that tick categories, in taxonomy order: the top row of a keyboard. */
export const CATEGORY_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "-", "="];

export function emptyItemAnswers(): ItemAnswers {
  return { harmful: null, categories: [], none: false, reason: "", confidence: null };
}

/** "Not harmful" leaves no harm to name; "harmful" keeps what was ticked. */
export function setHarmful(a: ItemAnswers, harmful: boolean): ItemAnswers {
  return { ...a, harmful };
}

/** Ticking a category is saying the item is harmful; any category clears "none of these". */
export function toggleCategory(a: ItemAnswers, q: Question, key: string, on: boolean): ItemAnswers {
  const has = a.categories.includes(key);
  const categories = on ? (has ? a.categories : [...a.categories, key])
    : a.categories.filter((k) => k !== key);
  const harmful = on && q.ask_harmful ? true : a.harmful;
  return { ...a, categories, harmful, none: on ? false : a.none };
}

export function setNone(a: ItemAnswers, on: boolean): ItemAnswers {
  return { ...a, none: on, categories: on ? [] : a.categories };
}

/** One line: newlines and runs of spaces become one space, at most REASON_MAX characters. */
export function setReason(a: ItemAnswers, text: string): ItemAnswers {
  return { ...a, reason: text.replace(/\s+/g, " ").slice(0, REASON_MAX) };
}

export function setConfidence(a: ItemAnswers, confidence: number | null): ItemAnswers {
  const ok = confidence !== null && Number.isInteger(confidence) && confidence >= 1 && confidence <= 5;
  return { ...a, confidence: ok ? confidence : null };
}

/** Whether the category list takes answers now (not after "not harmful"). */
export function categoriesOpen(a: ItemAnswers, q: Question): boolean {
  return q.ask_categories && !(q.ask_harmful && a.harmful === false);
}

export type ItemQuestion = "harmful" | "categories";

/**
 * What still misses, in display order. A harmful item needs at least one category (a
 * "harmful" with no harm named tells the dataset nothing); without the harmful question the
 * list needs a category or "none of these". Reason and confidence are always optional.
 */
export function itemMissing(a: ItemAnswers, q: Question): ItemQuestion[] {
  const missing: ItemQuestion[] = [];
  if (q.ask_harmful && a.harmful === null) missing.push("harmful");
  if (q.ask_categories) {
    const open = q.ask_harmful ? a.harmful === true : !a.none;
    if (open && a.categories.length === 0) missing.push("categories");
  }
  return missing;
}

export const itemComplete = (a: ItemAnswers, q: Question): boolean =>
  itemMissing(a, q).length === 0;

/** The API body: only what the batch asks, categories in taxonomy order. */
export function toItemPayload(a: ItemAnswers, q: Question, timing: { ms: number }): ItemPayload {
  if (!itemComplete(a, q)) throw new Error("the answer is not complete");
  const keys = q.taxonomy.categories.map((c) => c.key);
  const body: ItemPayload = {
    harmful: q.ask_harmful ? a.harmful : null,
    timings: { stage1_ms: Math.round(timing.ms) },
  };
  if (q.ask_categories) {
    body.categories = categoriesOpen(a, q) ? keys.filter((k) => a.categories.includes(k)) : [];
  }
  const reason = a.reason.trim();
  if (q.ask_reason && reason) body.reason = reason;
  if (q.ask_confidence && a.confidence !== null) body.confidence = a.confidence;
  return body;
}

/** A category's label and description in the worker's language (English when none is set). */
export function categoryText(c: Category, lang: string): { label: string; description: string } {
  const zh = lang.toLowerCase().startsWith("zh");
  return {
    label: (zh && c.label_zh) || c.label_en || c.key,
    description: (zh && c.description_zh) || c.description_en,
  };
}

/** A draft read back from storage, or null when it is not one (another version's shape). */
export function itemAnswersFrom(raw: unknown): ItemAnswers | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Partial<ItemAnswers>;
  if (!Array.isArray(r.categories) || typeof r.reason !== "string") return null;
  return {
    harmful: typeof r.harmful === "boolean" ? r.harmful : null,
    categories: r.categories.filter((k): k is string => typeof k === "string"),
    none: r.none === true,
    reason: r.reason,
    confidence: typeof r.confidence === "number" ? r.confidence : null,
  };
}
