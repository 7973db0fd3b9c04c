// The keyboard map of a classification task (the ? dialog lists it): every answer has a key.
import { CATEGORY_KEYS } from "./classifystate";
import { keymapDialog } from "./dialogs";
import type { ItemPlayer } from "./itemplayer";

const ITEM_KEYS: [string, string][] = [
  ["Y / N", "k_c_harmful"],
  ["1–9, 0, -, =", "k_c_category"],
  ["C", "k_c_confidence"],
  ["T", "k_c_reason"],
  ["Tab / Shift+Tab", "k_move"],
  ["Enter", "k_submit"],
  ["X", "k_c_skip"],
  ["P", "k_c_report_key"],
  ["Space / K", "k_c_play"],
  ["R", "k_c_restart"],
  ["S", "k_speed"],
  ["L", "k_loop"],
  ["M", "k_c_mute"],
  ["V", "k_reveal"],
  ["?", "k_help"],
  ["Esc", "k_close"],
];

export const itemKeymapDialog = (): HTMLDialogElement => keymapDialog(ITEM_KEYS);

export interface ItemKeyTarget {
  player: ItemPlayer;
  keymap: HTMLDialogElement;
  unlocked: boolean;
  reveal(): void;
  /** Y / N: harmful yes or no (without that question, N is "none of these"). */
  harmful(yes: boolean): boolean;
  /** The n-th category (0-based) ticked or unticked. */
  category(n: number): boolean;
  confidence(n: number): boolean;
  focus(question: "confidence" | "reason"): boolean;
  submit(): void;
  /** X / P: skip or report the item, asking for a reason (works before it is unlocked: a
   * broken video can never be watched to the end). */
  skipOrReport(kind: "skip" | "report"): void;
}

/** Handle one keydown on a classification task; true when the key was used. */
export function handleItemKey(e: KeyboardEvent, k: ItemKeyTarget): boolean {
  const target = e.target instanceof HTMLElement ? e.target : document.body;
  const tag = target.tagName;
  const input = target as HTMLInputElement;
  if (tag === "INPUT" && input.type === "text") {
    // The reason is one line: Enter sends the answer, Esc goes back to the keys.
    if (e.key === "Enter") { k.submit(); return true; }
    if (e.key === "Escape") { input.blur(); return true; }
    return false;
  }
  if (tag === "TEXTAREA" || tag === "SELECT") return false;
  if (e.key === "?") {
    if (k.keymap.open) k.keymap.close(); else k.keymap.showModal();
    return true;
  }
  if (document.querySelector("dialog[open]")) return false;
  const onToggle = tag === "BUTTON" || tag === "A" || input.type === "checkbox" || tag === "SUMMARY";
  switch (e.key) {
    case " ":
      // Space activates the focused button or checkbox (and, with no video, a radio too).
      if (onToggle || (k.player.media.kind === "image" && input.type === "radio")) return false;
      k.player.toggle();
      return true;
    case "k": case "K": k.player.toggle(); return true;
    case "r": case "R": k.player.restart(); return true;
    case "s": case "S": k.player.toggleSpeed(); return true;
    case "l": case "L": k.player.toggleLoop(); return true;
    case "m": case "M": k.player.toggleMute(); return true;
    case "v": case "V": k.reveal(); return true;
    case "x": case "X": k.skipOrReport("skip"); return true;
    case "p": case "P": k.skipOrReport("report"); return true;
    case "Enter":
      if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return false;
      k.submit();
      return true;
  }
  if (!k.unlocked) return false;
  switch (e.key) {
    case "y": case "Y": return k.harmful(true);
    case "n": case "N": return k.harmful(false);
    case "c": case "C": return k.focus("confidence");
    case "t": case "T": return k.focus("reason");
  }
  // On the confidence question, 1–5 are its answers; elsewhere the digits name categories.
  if (input.name === "confidence" && /^[1-5]$/.test(e.key)) return k.confidence(Number(e.key));
  const n = CATEGORY_KEYS.indexOf(e.key);
  return n >= 0 && k.category(n);
}
