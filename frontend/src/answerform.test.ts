import { describe, expect, it } from "vitest";
import { applyInput } from "./answerform";
import * as S from "./state";

const input = (name: string, value: string, checked = true) =>
  ({ name, value, checked }) as HTMLInputElement;

describe("applyInput", () => {
  it("reads each kind of input into the answers", () => {
    let a = S.emptyAnswers();
    a = applyInput(a, input("dim-instruction_following", "right"));
    a = applyInput(a, input("overall-helpfulness", "left"));
    a = applyInput(a, input("harm-left", "violence"));
    a = applyInput(a, input("none-right", "1"));
    expect(a.sub).toEqual({ instruction_following: "right" });
    expect(a.helpfulness).toBe("left");
    expect(a.harms.left).toEqual(["violence"]);
    expect(S.isNone(a, "right")).toBe(true);
    a = applyInput(a, input("harm-left", "violence", false));
    expect(a.harms.left).toBeNull();
  });
});
