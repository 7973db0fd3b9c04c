from rest_framework.permissions import BasePermission

from annotation_server.accounts import roles


class IsAdminRole(BasePermission):
    message = "This action needs the admin role."

    def has_permission(self, request, view):
        return roles.is_admin(request.user)


class IsReviewerRole(BasePermission):
    message = "This page is for reviewers and admins."

    def has_permission(self, request, view):
        return roles.is_reviewer(request.user)


class IsAnnotatorRole(BasePermission):
    message = "Only annotator accounts can take and submit assignments."

    def has_permission(self, request, view):
        return roles.is_annotator(request.user)
