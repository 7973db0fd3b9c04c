// The one item of a classification task: an image, or a video with its own controls and the
// same "watched to the end" rule as a pair's (played ranges, so scrubbing to the end does not
// count). An image counts as viewed once it has loaded.
import { coveredToEnd, prepareVideo } from "./player";
import type { VideoSide } from "./types";

export type ItemMedia =
  | { kind: "image"; el: HTMLImageElement }
  | { kind: "video"; el: HTMLVideoElement };

/** The item's element, loading as soon as it exists (also while still off-screen). */
export function prepareItem(side: VideoSide): ItemMedia {
  if (side.media_type === "video") return { kind: "video", el: prepareVideo(side) };
  const img = new Image();
  img.decoding = "async";
  img.src = side.video_url;
  // Decoded ahead too (a prefetched item is swapped in without waiting for the decoder).
  img.decode().catch(() => undefined);
  return { kind: "image", el: img };
}

/** Resolves once the item can be looked at: the image decoded, the video playable. */
export function whenShown(m: ItemMedia): Promise<void> {
  if (m.kind === "video") {
    const v = m.el;
    return v.readyState >= 3 ? Promise.resolve()
      : new Promise((r) => v.addEventListener("canplay", () => r(), { once: true }));
  }
  const img = m.el;
  const loaded = img.complete && img.naturalWidth > 0 ? Promise.resolve()
    : new Promise<void>((r) => img.addEventListener("load", () => r(), { once: true }));
  return loaded.then(() => img.decode().catch(() => undefined));
}

export interface ItemPlayerHooks {
  onViewed(): void;
  onChange(): void;
}

export class ItemPlayer {
  viewed = false;
  private detach: (() => void)[] = [];

  constructor(readonly media: ItemMedia, viewed: boolean, private readonly hooks: ItemPlayerHooks) {
    this.viewed = viewed;
    const on = (el: EventTarget, name: string, fn: () => void) => {
      el.addEventListener(name, fn);
      this.detach.push(() => el.removeEventListener(name, fn));
    };
    if (media.kind === "image") {
      // Loaded already (prefetched): viewed from the start, no hook while being constructed.
      if (media.el.complete && media.el.naturalWidth > 0) this.viewed = true;
      else on(media.el, "load", () => this.markViewed());
      return;
    }
    const v = media.el;
    const check = () => { if (coveredToEnd(v)) this.markViewed(); };
    on(v, "timeupdate", () => { check(); hooks.onChange(); });
    on(v, "ended", () => { check(); hooks.onChange(); });
    for (const e of ["play", "pause", "loadedmetadata", "volumechange", "ratechange"]) {
      on(v, e, () => hooks.onChange());
    }
  }

  private markViewed(): void {
    if (this.viewed) return;
    this.viewed = true;
    this.hooks.onViewed();
  }

  private get video(): HTMLVideoElement | null {
    return this.media.kind === "video" ? this.media.el : null;
  }

  get playing(): boolean {
    return !!this.video && !this.video.paused;
  }

  toggle(): void {
    const v = this.video;
    if (!v) return;
    if (!v.paused) return v.pause();
    if (v.ended) v.currentTime = 0;
    v.play().catch(() => this.hooks.onChange());
  }

  pause(): void {
    this.video?.pause();
  }

  restart(): void {
    const v = this.video;
    if (!v) return;
    v.currentTime = 0;
    v.play().catch(() => this.hooks.onChange());
  }

  seek(fraction: number): void {
    const v = this.video;
    if (v && isFinite(v.duration)) v.currentTime = fraction * v.duration;
  }

  toggleSpeed(): void {
    const v = this.video;
    if (!v) return;
    v.playbackRate = v.defaultPlaybackRate = v.playbackRate === 1 ? 0.5 : 1;
  }

  toggleLoop(): void {
    const v = this.video;
    if (!v) return;
    v.loop = !v.loop;
    this.hooks.onChange();
  }

  toggleMute(): void {
    const v = this.video;
    if (v) v.muted = !v.muted;
  }

  release(): void {
    this.pause();
    this.detach.forEach((f) => f());
    this.detach = [];
  }
}
