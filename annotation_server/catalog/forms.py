"""Admin form for a prompt's own harm labels: 12 checkboxes instead of raw JSON."""

from __future__ import annotations

from django import forms

from annotation_server import taxonomy

from .models import Prompt


def _harm_fields() -> dict[str, forms.BooleanField]:
    return {
        f"harm_{c.key}": forms.BooleanField(
            required=False, label=f"{c.code} {c.label_en}", help_text=c.description_en
        )
        for c in taxonomy.HARM_CATEGORIES
    }


class _PromptLabelsBase(forms.ModelForm):
    """Edits `Prompt.prompt_labels` as one checkbox per harm category.

    "Labelled" off keeps the prompt unlabelled (null), so exports skip it rather than invent
    labels; on with no box ticked means "the prompt shows none of the 12 harms".
    """

    labelled = forms.BooleanField(
        required=False,
        help_text="Tick when the labels below are a decision. Unlabelled prompts are "
        "labelled by annotators (batches with 'label prompts') or skipped by exports.",
    )

    class Meta:
        model = Prompt
        fields = ("prompt_id", "text", "prompt_type")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = self.instance.prompt_labels if self.instance.pk else None
        self.fields["labelled"].initial = labels is not None
        for key in taxonomy.HARM_KEYS:
            self.fields[f"harm_{key}"].initial = bool(labels and labels.get(key))

    def clean(self):
        data = super().clean()
        ticked = [key for key in taxonomy.HARM_KEYS if data.get(f"harm_{key}")]
        if ticked and not data.get("labelled"):
            self.add_error(
                "labelled",
                "Harm boxes are ticked but 'labelled' is off: tick it to save these labels, "
                "or clear the boxes to leave the prompt unlabelled.",
            )
        return data

    def save(self, commit=True):
        prompt = super().save(commit=False)
        if self.cleaned_data.get("labelled"):
            prompt.prompt_labels = taxonomy.harm_label(
                key for key in taxonomy.HARM_KEYS if self.cleaned_data.get(f"harm_{key}")
            )
        else:
            prompt.prompt_labels = None
        if commit:
            prompt.save()
        return prompt


# The 12 checkboxes are declared on the class (not added in __init__) so the admin's
# fieldsets can name them.
PromptLabelsForm = type(forms.ModelForm)(
    "PromptLabelsForm", (_PromptLabelsBase,), {"__module__": __name__, **_harm_fields()}
)
