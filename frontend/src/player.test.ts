import { describe, expect, it } from "vitest";
import { coveredToEnd, formatTime, resync } from "./player";

function fakeVideo(duration: number, ranges: [number, number][]): HTMLVideoElement {
  return {
    duration,
    played: { length: ranges.length, start: (i: number) => ranges[i][0], end: (i: number) => ranges[i][1] },
  } as unknown as HTMLVideoElement;
}

describe("watched to the end", () => {
  it("counts a video played through, also in pieces", () => {
    expect(coveredToEnd(fakeVideo(10, [[0, 10]]))).toBe(true);
    expect(coveredToEnd(fakeVideo(10, [[0, 4], [4, 9.6]]))).toBe(true);
  });

  it("does not count a jump to the end or a partial view", () => {
    expect(coveredToEnd(fakeVideo(10, [[9.5, 10]]))).toBe(false); // scrubbed to the end
    expect(coveredToEnd(fakeVideo(10, [[0, 5]]))).toBe(false);
    expect(coveredToEnd(fakeVideo(NaN, []))).toBe(false); // metadata not loaded yet
  });

  it("forgives the last half second of a short clip", () => {
    expect(coveredToEnd(fakeVideo(1, [[0, 0.9]]))).toBe(true);
    expect(coveredToEnd(fakeVideo(60, [[0, 59.6]]))).toBe(true);
    expect(coveredToEnd(fakeVideo(60, [[0, 50]]))).toBe(false);
  });
});

describe("keeping the two videos together", () => {
  it("leaves clocks within a quarter second alone", () => {
    expect(resync(3.0, 3.2)).toBeNull();
    expect(resync(3.2, 3.0)).toBeNull();
  });

  it("takes the video ahead back, never the one behind forward", () => {
    expect(resync(0.1, 0.6)).toEqual({ side: "right", time: 0.1 });
    expect(resync(0.6, 0.1)).toEqual({ side: "left", time: 0.1 });
  });

  it("so a one-second clip whose other half started late is still watched in full", () => {
    // Left at 0.5 s, right 0.4 s late at 0.1 s: left goes back and replays 0.4 s of itself.
    expect(resync(0.5, 0.1)).toEqual({ side: "left", time: 0.1 });
    // Right sent forward instead would have skipped 0.1–0.5 s and never counted as watched:
    expect(coveredToEnd(fakeVideo(1.02, [[0, 0.1], [0.5, 1.02]]))).toBe(false);
  });
});

describe("time display", () => {
  it("shows minutes and tenths", () => {
    expect(formatTime(0)).toBe("0:00.0");
    expect(formatTime(75.25)).toBe("1:15.3");
    expect(formatTime(NaN)).toBe("0:00.0");
  });
});
