// The task page's keyboard map (the ? dialog lists it): every action has a key.
import type { DualPlayer } from "./player";
import type { Side } from "./types";

export interface KeyTarget {
  player: DualPlayer;
  keymap: HTMLDialogElement;
  hasPair: boolean;
  reveal(): void;
  answerFocused(value: Side | "none"): boolean;
  submit(): void;
}

/** Handle one keydown on the task page; true when the key was used. */
export function handleTaskKey(e: KeyboardEvent, k: KeyTarget): boolean {
  const target = e.target instanceof HTMLElement ? e.target : document.body;
  const tag = target.tagName;
  const type = (target as HTMLInputElement).type;
  // Typing a note (or choosing a language) is not a command.
  if (tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && type === "text")) return false;
  if (e.key === "?") {
    if (k.keymap.open) k.keymap.close(); else k.keymap.showModal();
    return true;
  }
  if (!k.hasPair || document.querySelector("dialog[open]")) return false;
  const onToggle = tag === "BUTTON" || tag === "A" || type === "checkbox" || tag === "SUMMARY";
  switch (e.key) {
    case " ":
      if (onToggle) return false; // Space activates the focused button or checkbox
      k.player.toggle();
      return true;
    case "k": case "K": k.player.toggle(); return true;
    case "r": case "R": k.player.restart(); return true;
    case "s": case "S": k.player.setSpeed(k.player.speed === 1 ? 0.5 : 1); return true;
    case "l": case "L": k.player.toggleLoop(); return true;
    case "z": case "Z": k.player.toggleMute("left"); return true;
    case "x": case "X": k.player.toggleMute("right"); return true;
    case "v": case "V": k.reveal(); return true;
    case "1": return k.answerFocused("left");
    case "2": return k.answerFocused("right");
    case "n": case "N": return k.answerFocused("none");
    case "Enter":
      if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return false;
      k.submit();
      return true;
  }
  return false;
}
