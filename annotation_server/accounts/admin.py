"""The users' admin, with the two answers to abuse: revoke API tokens, unlock log-in."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from annotation_server.accounts import access

User = get_user_model()


class UserAdmin(DjangoUserAdmin):
    actions = ["revoke_tokens", "unlock_login"]

    @admin.action(description="Revoke API tokens (they stop working at once)")
    def revoke_tokens(self, request, queryset):
        revoked = sum(
            access.user_tokens_revoke(user=user, actor=request.user, reason="admin")
            for user in queryset
        )
        self.message_user(request, f"Revoked {revoked} API token(s).", messages.SUCCESS)

    @admin.action(description="Unlock log-in (forget failed log-in attempts)")
    def unlock_login(self, request, queryset):
        cleared = sum(access.user_login_unlock(user=user, actor=request.user) for user in queryset)
        self.message_user(
            request,
            f"Unlocked {queryset.count()} account(s); {cleared} failed-attempt record(s) removed.",
            messages.SUCCESS,
        )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, UserAdmin)
