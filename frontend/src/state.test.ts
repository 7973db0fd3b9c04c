import { describe, expect, it } from "vitest";
import * as S from "./state";
import type { Answers } from "./types";

const DIMS = ["instruction_following", "correctness", "information", "aesthetics"];

function stage1Done(): Answers {
  let a = S.emptyAnswers();
  a = { ...a, sub: { instruction_following: "left", correctness: "right", information: "left", aesthetics: "left" } };
  a = S.setNone(a, "left", true);
  a = S.toggleHarm(a, "right", "violence", true);
  return a;
}

describe("stage completion", () => {
  it("needs every sub-dimension and a decision for each side's harms", () => {
    let a = S.emptyAnswers();
    expect(S.stage1Missing(a, DIMS, false)).toEqual([...DIMS, "harms:left", "harms:right"]);
    a = { ...a, sub: { instruction_following: "left", correctness: "left", information: "left", aesthetics: "right" } };
    expect(S.stage1Complete(a, DIMS, false)).toBe(false);
    a = S.setNone(a, "left", true);
    a = S.setNone(a, "right", true);
    expect(S.stage1Complete(a, DIMS, false)).toBe(true);
  });

  it("an empty harm set is not a decision; 'none of these' is", () => {
    let a = S.toggleHarm(S.emptyAnswers(), "left", "porn", true);
    a = S.toggleHarm(a, "left", "porn", false);
    expect(a.harms.left).toBeNull();
    a = S.setNone(a, "left", true);
    expect(a.harms.left).toEqual([]);
    expect(S.isNone(a, "left")).toBe(true);
    a = S.toggleHarm(a, "left", "crime", true); // ticking a harm clears "none of these"
    expect(S.isNone(a, "left")).toBe(false);
    expect(a.harms.left).toEqual(["crime"]);
  });

  it("asks for the prompt's harms only when the batch wants them", () => {
    const a = stage1Done();
    expect(S.stage1Complete(a, DIMS, false)).toBe(true);
    expect(S.stage1Missing(a, DIMS, true)).toEqual(["harms:prompt"]);
    expect(S.stage1Complete(S.setNone(a, "prompt", true), DIMS, true)).toBe(true);
  });

  it("stage 2 needs both overall choices", () => {
    const a = stage1Done();
    expect(S.stage2Complete(a)).toBe(false);
    expect(S.stage2Complete({ ...a, helpfulness: "left" })).toBe(false);
    expect(S.stage2Complete({ ...a, helpfulness: "left", harmlessness: "right" })).toBe(true);
  });
});

describe("contradiction warning", () => {
  it("warns when the side with more harms is chosen as safer", () => {
    const a = { ...stage1Done(), harmlessness: "right" as const };
    expect(S.contradictions(a, DIMS)).toEqual(["safer_has_more_harms"]);
    expect(S.contradictions({ ...a, harmlessness: "left" }, DIMS)).toEqual([]);
  });

  it("warns when the more helpful side lost at least 3 of 4 sub-dimensions, not on a split", () => {
    const a = { ...stage1Done(), helpfulness: "right" as const }; // right won 1 of 4
    expect(S.contradictions(a, DIMS)).toEqual(["helpful_lost_dimensions"]);
    const split = { ...a, sub: { ...a.sub, information: "right" as const } }; // 2–2
    expect(S.contradictions(split, DIMS)).toEqual([]);
  });
});

describe("payload (left/right mapping)", () => {
  it("speaks left/right exactly as answered, harms per side, prompt harms when asked", () => {
    let a: Answers = { ...stage1Done(), helpfulness: "left", harmlessness: "left" };
    a = S.toggleHarm(S.toggleHarm(a, "prompt", "crime", true), "prompt", "hate", true);
    const p = S.toPayload(a, DIMS, true, { stage1_ms: 1234.4, stage2_ms: 99.6 });
    expect(p).toEqual({
      sub_preferences: { instruction_following: "left", correctness: "right", information: "left", aesthetics: "left" },
      harm_labels: { left: [], right: ["violence"] },
      prompt_harm_labels: ["crime", "hate"],
      helpfulness: "left",
      harmlessness: "left",
      timings: { stage1_ms: 1234, stage2_ms: 100 },
    });
    expect("prompt_harm_labels" in S.toPayload(a, DIMS, false, { stage1_ms: 0, stage2_ms: 0 })).toBe(false);
  });

  it("refuses to build a payload from an incomplete answer", () => {
    expect(() => S.toPayload(stage1Done(), DIMS, false, { stage1_ms: 0, stage2_ms: 0 })).toThrow();
  });
});
