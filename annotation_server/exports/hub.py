"""Publishing a Hugging Face export folder to the Hub (`export_safesora --push-to-hub REPO`)."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token

from annotation_server.core.exceptions import ApplicationError

NO_TOKEN = (
    "No Hugging Face token: set HF_TOKEN to a token with write access "
    "(https://huggingface.co/settings/tokens) or run `hf auth login`, then push again."
)


def hub_push(*, folder: Path, repo_id: str, private: bool = True, token: str | None = None) -> str:
    """Uploads `folder` (README.md and data/) to the dataset repository `repo_id`, creating it
    when missing (private unless `private` is False); returns the repository's URL.

    The token is checked before anything goes on the network, so a missing one fails at once.
    Raises ApplicationError with the Hub's answer when the upload is refused or fails.
    """
    token = token or get_token()
    if not token:
        raise ApplicationError(NO_TOKEN)
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=folder,
            allow_patterns=["README.md", "data/**"],
            commit_message="Upload dataset exported by export_safesora --format hf",
        )
    except (OSError, ValueError) as error:  # HfHubHTTPError is an OSError; bad ids ValueError
        raise ApplicationError(f"Pushing to {repo_id} failed: {error}") from error
    return str(url)
