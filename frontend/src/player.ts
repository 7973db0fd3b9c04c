// Two videos played as one: shared play/pause, restart, scrubber, speed and loop, with
// per-video mute and "watched to the end" tracking (played ranges, so scrubbing to the end
// does not count as watching).
import type { Side, VideoSide } from "./types";

/** A <video> for one side, loading as soon as it exists (also while still off-screen). */
export function prepareVideo(side: VideoSide): HTMLVideoElement {
  const v = document.createElement("video");
  v.preload = "auto";
  v.playsInline = true;
  if (side.poster_url) v.poster = side.poster_url;
  v.src = side.video_url;
  v.load();
  return v;
}

/** Whether a video's played ranges cover (nearly) all of it. */
export function coveredToEnd(v: HTMLVideoElement): boolean {
  const d = v.duration;
  if (!isFinite(d) || d <= 0) return false;
  let covered = 0;
  for (let i = 0; i < v.played.length; i++) covered += v.played.end(i) - v.played.start(i);
  return covered >= Math.max(d * 0.9, d - 0.5);
}

/**
 * Bringing two playing clocks back together: the video that ran ahead goes back to the other's
 * time, never the one behind forward — a jump forward skips part of that video, which then
 * never counts as watched (on a slow device a one-second clip could not be unlocked). null
 * while they are within `tolerance` seconds of each other.
 */
export function resync(
  left: number,
  right: number,
  tolerance = 0.25,
): { side: Side; time: number } | null {
  const drift = right - left;
  if (Math.abs(drift) <= tolerance) return null;
  return drift > 0 ? { side: "right", time: left } : { side: "left", time: right };
}

export interface PlayerHooks {
  onWatched(side: Side): void;
  onChange(): void; // play state, time, speed, loop or mute changed: redraw controls
}

export class DualPlayer {
  videos: Record<Side, HTMLVideoElement> | null = null;
  speed = 1;
  loop = false;
  watched: Record<Side, boolean> = { left: false, right: false };
  private raf = 0;
  private detach: (() => void)[] = [];

  constructor(private readonly hooks: PlayerHooks) {}

  attach(videos: Record<Side, HTMLVideoElement>, watched: Record<Side, boolean>): void {
    this.release();
    this.videos = videos;
    this.watched = { ...watched };
    videos.right.muted = true; // two soundtracks at once help nobody; unmute on demand
    for (const side of ["left", "right"] as Side[]) {
      const v = videos[side];
      v.playbackRate = this.speed;
      v.defaultPlaybackRate = this.speed;
      const check = () => this.checkWatched(side);
      const ended = () => {
        check();
        this.onEnded();
      };
      const changed = () => this.hooks.onChange();
      v.addEventListener("timeupdate", check);
      v.addEventListener("ended", ended);
      for (const e of ["play", "pause", "loadedmetadata", "volumechange"]) {
        v.addEventListener(e, changed);
      }
      this.detach.push(() => {
        v.removeEventListener("timeupdate", check);
        v.removeEventListener("ended", ended);
        for (const e of ["play", "pause", "loadedmetadata", "volumechange"]) {
          v.removeEventListener(e, changed);
        }
      });
    }
  }

  release(): void {
    cancelAnimationFrame(this.raf);
    this.detach.forEach((f) => f());
    this.detach = [];
    if (this.videos) {
      this.videos.left.pause();
      this.videos.right.pause();
    }
    this.videos = null;
  }

  get playing(): boolean {
    return !!this.videos && (!this.videos.left.paused || !this.videos.right.paused);
  }

  get duration(): number {
    if (!this.videos) return 0;
    const d = [this.videos.left.duration, this.videos.right.duration].filter((x) => isFinite(x));
    return d.length ? Math.max(...d) : 0;
  }

  get currentTime(): number {
    if (!this.videos) return 0;
    return Math.max(this.videos.left.currentTime, this.videos.right.currentTime);
  }

  toggle(): void {
    if (this.playing) this.pause();
    else this.play();
  }

  play(): void {
    if (!this.videos) return;
    const both = [this.videos.left, this.videos.right];
    // Both at their end: start again together instead of doing nothing.
    if (both.every((v) => v.ended || (isFinite(v.duration) && v.currentTime >= v.duration))) {
      both.forEach((v) => (v.currentTime = 0));
    }
    for (const v of both) {
      if (!v.ended) v.play().catch(() => this.hooks.onChange());
    }
    this.tick();
  }

  pause(): void {
    if (!this.videos) return;
    this.videos.left.pause();
    this.videos.right.pause();
  }

  restart(): void {
    if (!this.videos) return;
    this.seek(0);
    this.play();
  }

  seek(t: number): void {
    if (!this.videos) return;
    for (const v of [this.videos.left, this.videos.right]) {
      v.currentTime = isFinite(v.duration) ? Math.min(t, v.duration) : t;
    }
    this.hooks.onChange();
  }

  setSpeed(rate: number): void {
    this.speed = rate;
    if (this.videos) {
      for (const v of [this.videos.left, this.videos.right]) {
        v.playbackRate = rate;
        v.defaultPlaybackRate = rate;
      }
    }
    this.hooks.onChange();
  }

  toggleLoop(): void {
    this.loop = !this.loop;
    this.hooks.onChange();
  }

  toggleMute(side: Side): void {
    if (this.videos) this.videos[side].muted = !this.videos[side].muted;
  }

  private onEnded(): void {
    if (!this.videos) return;
    const { left, right } = this.videos;
    if (this.loop && left.ended && right.ended) this.restart();
    else this.hooks.onChange();
  }

  private checkWatched(side: Side): void {
    if (!this.videos || this.watched[side]) return;
    if (coveredToEnd(this.videos[side])) {
      this.watched[side] = true;
      this.hooks.onWatched(side);
    }
  }

  // Keeps the two clocks together and the scrubber moving smoothly while playing.
  private tick = (): void => {
    cancelAnimationFrame(this.raf);
    if (!this.videos || !this.playing) return;
    const { left, right } = this.videos;
    if (!left.paused && !right.paused && !left.seeking && !right.seeking) {
      const fix = resync(left.currentTime, right.currentTime);
      if (fix) this.videos[fix.side].currentTime = fix.time;
    }
    this.hooks.onChange();
    this.raf = requestAnimationFrame(this.tick);
  };
}

export function formatTime(s: number): string {
  if (!isFinite(s) || s < 0) s = 0;
  const m = Math.floor(s / 60);
  const sec = s - m * 60;
  return `${m}:${sec.toFixed(1).padStart(4, "0")}`;
}

/** Record a performance.measure from `mark` to the moment both videos can play. */
export function measureWhenPlayable(
  videos: Record<Side, HTMLVideoElement>,
  name: string,
  mark: string,
): void {
  const ready = (v: HTMLVideoElement) =>
    v.readyState >= 3
      ? Promise.resolve()
      : new Promise<void>((r) => v.addEventListener("canplay", () => r(), { once: true }));
  void Promise.all([ready(videos.left), ready(videos.right)]).then(() =>
    performance.measure(name, mark),
  );
}
