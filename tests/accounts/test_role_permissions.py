"""A non-superuser in the admin group can run the Django admin; a reviewer can only look."""

import pytest

from annotation_server.accounts import roles
from annotation_server.accounts.roles import role_permissions_sync


@pytest.mark.django_db
def test_admin_role_can_change_batches_and_reviewer_can_only_view(client, make_user):
    role_permissions_sync()
    admin = make_user(roles.ADMIN)
    reviewer = make_user(roles.REVIEWER)
    assert not admin.is_superuser

    client.force_login(admin)
    assert client.get("/admin/batches/batch/").status_code == 200
    assert client.get("/admin/batches/batch/add/").status_code == 200
    assert client.get("/admin/catalog/video/").status_code == 200

    client.force_login(reviewer)
    assert client.get("/admin/batches/batch/").status_code == 200
    assert client.get("/admin/batches/batch/add/").status_code == 403


@pytest.mark.django_db
def test_annotator_cannot_enter_the_admin(client, make_user):
    client.force_login(make_user(roles.ANNOTATOR))
    response = client.get("/admin/batches/batch/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
