"""Every string the worker app shows, marked for Django's gettext.

The app has no catalogue of its own: the workspace view renders these, translated into the
worker's language, into the page (see `app_messages`). `makemessages` finds them here, so
annotation_server/locale/*/LC_MESSAGES/django.po is the one catalogue for server and app.
Placeholders in braces ({n}) are filled in by the app.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "app_title": _("SafeSora video comparison"),
    "welcome": _("Welcome, {name}"),
    "your_counts": _("Your annotations"),
    "count_today": _("today"),
    "count_total": _("in total"),
    "instructions": _("Instructions"),
    "no_instructions": _("Compare the two videos for the prompt, first in detail, then overall."),
    "no_batches": _("No batch is open for you right now. Please come back later."),
    "start": _("Start annotating"),
    "keymap_hint": _("Press ? at any time to see the keyboard shortcuts."),
    "language": _("Language"),
    "logout": _("Log out"),
    "prompt": _("Prompt"),
    "left": _("Left (A)"),
    "right": _("Right (B)"),
    "playback": _("Playback of both videos"),
    "play": _("Play both"),
    "pause": _("Pause both"),
    "restart": _("Restart both"),
    "scrubber": _("Position in both videos"),
    "speed": _("Playback speed (0.5× or 1×)"),
    "loop": _("Loop"),
    "mute": _("Mute"),
    "unmute": _("Unmute"),
    "watched": _("watched"),
    "not_watched": _("not watched to the end yet"),
    "reveal": _("Videos may be disturbing: reveal them (V)"),
    "lock_notice": _("Watch both videos to the end to unlock the questions."),
    "stage1": _("Stage 1 · details"),
    "stage2": _("Stage 2 · overall"),
    "harms_for_side": _("Harms the {side} video shows"),
    "harms_prompt": _("Harms in the prompt text itself"),
    "none_of_these": _("None of these"),
    "helpfulness_q": _("More helpful overall"),
    "helpfulness_desc": _("Which video answers the prompt better, all things considered?"),
    "harmlessness_q": _("Safer overall"),
    "harmlessness_desc": _("Which video is less harmful, all things considered?"),
    "warn_safer_has_more_harms": _(
        "You marked more harms for the video you chose as safer. Please check; you may still "
        "submit."
    ),
    "warn_helpful_lost_dimensions": _(
        "The video you chose as more helpful lost most of the stage 1 comparisons. Please "
        "check; you may still submit."
    ),
    "stage1_left": _("{n} stage 1 answer(s) missing"),
    "stage2_left": _("Answer both overall questions to submit"),
    "submit": _("Submit"),
    "skip": _("Skip"),
    "report": _("Report this pair"),
    "skip_title": _("Skip this pair"),
    "report_title": _("Report this pair"),
    "reason": _("Reason"),
    "note": _("Note (optional)"),
    "cancel": _("Cancel"),
    "confirm_skip": _("Skip pair"),
    "confirm_report": _("Send report"),
    "status_saved": _("All answers saved"),
    "status_sending": _("Sending {n} answer(s)…"),
    "status_waiting": _("Server not reachable: retrying in {s} s ({n} answer(s) kept safe)"),
    "status_auth": _("You are logged out: log in again in another tab ({n} answer(s) kept safe)"),
    "status_rejected": _("The server refused an answer: {reason}"),
    "draft_restored": _("Your answers in progress were restored."),
    "loading": _("Loading the next task…"),
    "error_load": _("Could not load a task ({reason}). Trying again…"),
    "done_title": _("No more tasks for now"),
    "done_text": _("Thank you! Every task available to you is done."),
    "study_progress": _("Study: {done} of {required} tasks"),
    "study_finishing": _(
        "That was the last task of this study. Taking you to the completion page…"
    ),
    "back_to_workspace": _("Back to the workspace"),
    "keymap_title": _("Keyboard shortcuts"),
    "close": _("Close"),
    "k_play": _("Play or pause both videos"),
    "k_restart": _("Restart both videos"),
    "k_choose": _("Left or Right for the focused question, then on to the next"),
    "k_none": _("“None of these” for the focused harm list"),
    "k_move": _("Move between questions and buttons"),
    "k_submit": _("Submit when every question is answered"),
    "k_speed": _("Speed 0.5× / 1×"),
    "k_loop": _("Loop on or off"),
    "k_mute": _("Mute or unmute the left / right video"),
    "k_reveal": _("Reveal blurred videos"),
    "k_help": _("Show or hide this list"),
    "k_close": _("Close a dialog"),
    # Classification tasks (one item, the batch's question).
    "c_question": _("Your judgement"),
    "c_harmful_q": _("Is it harmful?"),
    "c_harmful_desc": _("Harmful: it shows or promotes something from the categories below."),
    "c_yes": _("Yes, harmful"),
    "c_no": _("No, not harmful"),
    "c_categories_q": _("Which harms does it show?"),
    "c_reason": _("Reason (optional, one line)"),
    "c_confidence": _("How sure are you? (optional)"),
    "c_confidence_desc": _("1 = a guess, 5 = certain"),
    "c_left": _("{n} answer(s) missing"),
    "c_item": _("The item to judge"),
    "c_viewed": _("viewed"),
    "c_lock_video": _("Watch the video to the end to unlock the questions."),
    "c_lock_image": _("Loading the image…"),
    "c_reveal": _("May be disturbing: reveal it (V)"),
    "c_playback": _("Playback"),
    "c_play": _("Play"),
    "c_pause": _("Pause"),
    "c_restart": _("Restart"),
    "c_report": _("Report this item"),
    "c_skip_title": _("Skip this item"),
    "c_hint_tag": _("Machine suggestion"),
    "c_hint_by": _("A machine annotator says:"),
    "c_hint_harmful": _("harmful"),
    "c_hint_harmless": _("not harmful"),
    "c_hint_categories": _("categories: {list}"),
    "c_hint_no_category": _("no category"),
    "c_hint_note": _("It can be wrong: give your own judgement."),
    "k_c_harmful": _("Harmful: yes / no (without that question, N is “none of these”)"),
    "k_c_category": _("Tick or untick a category; on the confidence question, 1–5 answer it"),
    "k_c_confidence": _("Go to the confidence question"),
    "k_c_reason": _("Write the reason (Enter submits, Esc leaves the field)"),
    "k_c_play": _("Play or pause the video"),
    "k_c_restart": _("Restart the video"),
    "k_c_mute": _("Mute or unmute the video"),
    "k_c_skip": _("Skip this item (you are asked why)"),
    "k_c_report_key": _("Report a problem with this item"),
}

# Reasons for skipping or reporting a task (a pair or an item), keyed like
# assignments.PairReport.Reason.
REPORT_REASONS = {
    "broken_video": _("A video or image does not load or is broken"),
    "wrong_prompt": _("What is shown does not match the prompt"),
    "disturbing": _("Too disturbing for me to judge"),
    "unsure": _("I cannot judge this"),
    "other": _("Other"),
}


def app_messages() -> dict[str, str]:
    """The app's strings in the active language."""
    return {key: str(text) for key, text in MESSAGES.items()}
