"""Revoking API tokens and unlocking log-ins: the answers to a leaked token or a locked account.

A revoked token is a deleted row; DRF's TokenAuthentication reads the row on every request, so
the token is refused on its next use in every process. Unlocking deletes the account's failed
attempts that django-axes counts (accounts.lockout).
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotation_server.core.audit import audit_record


@transaction.atomic
def user_tokens_revoke(*, user, actor, reason: str) -> int:
    """Delete `user`'s API tokens; returns how many there were (0 or 1)."""
    count, _ = Token.objects.filter(user=user).delete()
    if count:
        audit_record(actor=actor, verb="token.revoke", target=user, details={"reason": reason})
    return count


@transaction.atomic
def user_login_unlock(*, user, actor) -> int:
    """Forget `user`'s failed log-ins (every address); returns how many records went."""
    count = axes_reset(username=user.get_username())
    audit_record(actor=actor, verb="login.unlock", target=user, details={"attempts": count})
    return count
