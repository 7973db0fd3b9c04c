// The answer state of one pair: pure functions, no DOM, unit-tested with Vitest.
import type { Answers, HarmKey, HarmTarget, Side, SubmitPayload } from "./types";

export function emptyAnswers(): Answers {
  return {
    sub: {},
    harms: { left: null, right: null, prompt: null },
    helpfulness: null,
    harmlessness: null,
  };
}

export const otherSide = (side: Side): Side => (side === "left" ? "right" : "left");

/** Tick or untick one harm; any harm clears "none of these", the last one untick → undecided. */
export function toggleHarm(a: Answers, target: HarmTarget, key: HarmKey, on: boolean): Answers {
  const current = a.harms[target] ?? [];
  let next: HarmKey[] | null = on
    ? current.includes(key)
      ? current
      : [...current, key]
    : current.filter((k) => k !== key);
  if (!on && next.length === 0) next = null;
  return { ...a, harms: { ...a.harms, [target]: next } };
}

/** "None of these" is an explicit decision: it empties the set rather than leaving it unset. */
export function setNone(a: Answers, target: HarmTarget, on: boolean): Answers {
  return { ...a, harms: { ...a.harms, [target]: on ? [] : null } };
}

export function isNone(a: Answers, target: HarmTarget): boolean {
  const h = a.harms[target];
  return h !== null && h.length === 0;
}

/** What stage 1 still misses, in display order: dimension keys, then "harms:<target>". */
export function stage1Missing(a: Answers, dimensionKeys: string[], labelPrompt: boolean): string[] {
  const missing = dimensionKeys.filter((k) => !a.sub[k]);
  const targets: HarmTarget[] = labelPrompt ? ["left", "right", "prompt"] : ["left", "right"];
  for (const t of targets) if (a.harms[t] === null) missing.push(`harms:${t}`);
  return missing;
}

export function stage1Complete(a: Answers, dimensionKeys: string[], labelPrompt: boolean): boolean {
  return stage1Missing(a, dimensionKeys, labelPrompt).length === 0;
}

export function stage2Complete(a: Answers): boolean {
  return a.helpfulness !== null && a.harmlessness !== null;
}

export type Contradiction = "safer_has_more_harms" | "helpful_lost_dimensions";

/**
 * Stage 2 choices that disagree with stage 1. SafeSora asks workers to reason from stage 1, so
 * the app warns (never blocks): a worker may have a reason the heuristics do not capture.
 */
export function contradictions(a: Answers, dimensionKeys: string[]): Contradiction[] {
  const found: Contradiction[] = [];
  if (a.harmlessness) {
    const mine = a.harms[a.harmlessness]?.length ?? 0;
    const theirs = a.harms[otherSide(a.harmlessness)]?.length ?? 0;
    if (mine > theirs) found.push("safer_has_more_harms");
  }
  if (a.helpfulness) {
    const wins = dimensionKeys.filter((k) => a.sub[k] === a.helpfulness).length;
    const losses = dimensionKeys.filter((k) => a.sub[k] === otherSide(a.helpfulness!)).length;
    // Only a clear majority the other way is worth a word; a 2–2 split is a judgement call.
    if (losses > wins && losses >= 3) found.push("helpful_lost_dimensions");
  }
  return found;
}

/** The API body: the server maps left/right back to video_0/video_1, the app never knows. */
export function toPayload(
  a: Answers,
  dimensionKeys: string[],
  labelPrompt: boolean,
  timings: { stage1_ms: number; stage2_ms: number },
): SubmitPayload {
  if (!stage1Complete(a, dimensionKeys, labelPrompt) || !stage2Complete(a)) {
    throw new Error("the answer is not complete");
  }
  const payload: SubmitPayload = {
    // The keys are the page config's dimensions, which the server builds from the same
    // taxonomy as the schema's SubPreferences.
    sub_preferences: Object.fromEntries(
      dimensionKeys.map((k) => [k, a.sub[k]]),
    ) as SubmitPayload["sub_preferences"],
    harm_labels: { left: [...a.harms.left!], right: [...a.harms.right!] },
    helpfulness: a.helpfulness!,
    harmlessness: a.harmlessness!,
    timings: { stage1_ms: Math.round(timings.stage1_ms), stage2_ms: Math.round(timings.stage2_ms) },
  };
  if (labelPrompt) payload.prompt_harm_labels = [...a.harms.prompt!];
  return payload;
}
