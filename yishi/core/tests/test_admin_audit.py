"""Plain admin edits (no domain service) still leave an audit event each."""

from yishi.audit.models import AuditEvent
from yishi.audit.services import verify_chain
from yishi.orgs.models import Station
from yishi.policy.models import WorkdayOverride


def test_station_change_and_delete_are_audited(tree, admin_user, make_client):
    client = make_client(admin_user)
    station = tree.station_a1
    url = f"/admin/orgs/station/{station.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "name": "直冲社区人大代表联络站（新址）", "kind": station.kind, "org_unit": station.org_unit_id, "address": "直冲路9号",
        "opening_hours": "周一至周五 9:00-17:00", "phone": "", "description": "", "is_active": "on",
        "members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0", "members-MIN_NUM_FORMS": "0", "members-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(code="admin.orgs.station.changed", subject_id=str(station.pk)).get()
    assert event.before["address"] == "直冲路1号" and event.after["address"] == "直冲路9号"
    assert event.actor_id == admin_user.pk

    response = client.post(f"/admin/orgs/station/{station.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Station.objects.filter(pk=station.pk).exists()
    deleted = AuditEvent.objects.get(code="admin.orgs.station.deleted", subject_id=str(station.pk))
    assert deleted.before["name"].startswith("直冲社区")
    assert verify_chain() == []


def test_workday_override_is_audited(admin_user, make_client):
    client = make_client(admin_user)
    response = client.post("/admin/policy/workdayoverride/add/", {"date": "2026-12-31", "is_workday": "", "note": "地方假日"})
    assert response.status_code == 302, response.content.decode()[:2000]
    override = WorkdayOverride.objects.get()
    event = AuditEvent.objects.get(code="admin.policy.workdayoverride.created")
    assert event.subject_id == str(override.pk) and event.after["note"] == "地方假日"
