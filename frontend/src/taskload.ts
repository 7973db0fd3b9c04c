// What a claimed assignment brings to the task page before it is shown: its media loading
// (both videos of a pair, or the one item of a classification task), so a prefetched task
// is ready the moment the worker submits the one before it.
import { isItemTask, loadingItem, type ItemLoaded } from "./classifyview";
import { prepareVideo } from "./player";
import type { Assignment, Side } from "./types";

export interface PairLoaded {
  a: Assignment;
  videos: Record<Side, HTMLVideoElement>;
}

export type Loaded = PairLoaded | ItemLoaded;

export const isItemLoaded = (l: Loaded): l is ItemLoaded => "media" in l;

/** An assignment with its media starting to load. */
export function loading(a: Assignment): Loaded {
  if (isItemTask(a)) return loadingItem(a);
  // Pairwise assignments always have both sides.
  const loaded: PairLoaded = {
    a, videos: { left: prepareVideo(a.left!), right: prepareVideo(a.right!) },
  };
  // Posters too, so the next pair never shows an empty box.
  for (const s of ["left", "right"] as Side[]) {
    const poster = a[s]?.poster_url;
    if (poster) new Image().src = poster;
  }
  return loaded;
}
