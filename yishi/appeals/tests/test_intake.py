"""Intake: submission by residents (signed in or anonymous) and by staff, through the API and the service.

Bad input is rejected with the field named; a retried submission with the same idempotency key creates one
appeal; photos must be real images within the profile's limits; the place decides the handling level.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from yishi.appeals import services
from yishi.appeals.choices import AppealState, Channel
from yishi.appeals.models import Appeal, Attachment
from yishi.appeals.testing import submit
from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.core.errors import InvalidInput, NotAuthenticated, PermissionDenied
from yishi.core.testing import make_user
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile, profile_copy, profile_update


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def body(world, **overrides):
    data = {
        "nature": "complaint",
        "category": world.cat_lift.pk,
        "title": "小区加装电梯进展缓慢",
        "text": "我们小区加装电梯申请半年了还没有开工，请尽快推进。",
        "org_unit": world.tree.community_a1.pk,
    }
    data.update(overrides)
    return data


def post_json(client: Client, url: str, data: dict, **headers):
    return client.post(url, data=json.dumps(data), content_type="application/json", headers=headers)


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def set_param(key: str, value, profile: PolicyProfile | None = None) -> PolicyProfile:
    profile = profile or default_profile()
    return profile_update(actor=None, profile=profile, params={**profile.params, key: value})


# --- submission and receipt -------------------------------------------------------------------------------------


def test_signed_in_resident_gets_a_tracking_code(world):
    response = post_json(client_for(world.resident), "/api/appeals", body(world))
    assert response.status_code == 201, response.content
    data = response.json()
    appeal = Appeal.objects.get(pk=data["id"])
    assert data["tracking_code"] == appeal.tracking_code and appeal.tracking_code.startswith("YS")
    assert data["state"] == AppealState.RECEIVED
    assert appeal.submitter == world.resident and appeal.channel == Channel.WEB
    assert appeal.contact_phone == "13800138001"
    assert AuditEvent.objects.filter(code="appeals.appeal.submitted", subject_id=str(appeal.pk)).count() == 1


def test_anonymous_submission_keeps_no_identity(world):
    response = post_json(Client(), "/api/appeals", body(world, contact_phone="13900001111", contact_name="王五"))
    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get(pk=response.json()["id"])
    assert appeal.submitter is None and appeal.contact_phone == "13900001111"
    flagged = post_json(client_for(world.resident), "/api/appeals", body(world, anonymous=True))
    appeal = Appeal.objects.get(pk=flagged.json()["id"])
    assert appeal.submitter is None and appeal.contact_phone == "" and appeal.contact_name == ""
    assert appeal.consent_contact is False


def test_anonymous_submission_follows_the_profile_switch(world):
    closed = profile_copy(actor=None, source=default_profile(), code="no-anon", name="不接受匿名")
    set_param("appeals.anonymous_submit", False, closed)
    world.tree.street_a.policy_profile = closed
    world.tree.street_a.save(update_fields=["policy_profile"])

    response = post_json(Client(), "/api/appeals", body(world))
    assert response.status_code == 401
    assert response.json()["code"] == "anonymous_not_allowed"
    # Street B keeps the default profile, which accepts anonymous appeals.
    response = post_json(Client(), "/api/appeals", body(world, org_unit=world.tree.community_b1.pk))
    assert response.status_code == 201, response.content
    # A signed-in resident may still submit in street A.
    assert post_json(client_for(world.resident), "/api/appeals", body(world)).status_code == 201
    with pytest.raises(NotAuthenticated):
        services.appeal_submit(actor=None, data=services.AppealInput(**_service_input(world)))


def _service_input(world, **overrides):
    data = {
        "nature": "complaint", "category_id": world.cat_lift.pk, "title": "标题", "text": "内容",
        "org_unit_id": world.tree.community_a1.pk,
    }
    data.update(overrides)
    return data


# --- idempotency ------------------------------------------------------------------------------------------------


def test_retry_with_the_same_idempotency_key_returns_the_same_appeal(world):
    client = client_for(world.resident)
    first = post_json(client, "/api/appeals", body(world), **{"Idempotency-Key": "7f1c2d0e-retry"})
    again = post_json(client, "/api/appeals", body(world), **{"Idempotency-Key": "7f1c2d0e-retry"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert Appeal.objects.filter(idempotency_key="7f1c2d0e-retry").count() == 1
    other = post_json(client, "/api/appeals", body(world), **{"Idempotency-Key": "another-key"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert post_json(client, "/api/appeals", body(world)).status_code == 201  # no key: a new appeal each time


def test_idempotency_keys_belong_to_their_caller(world):
    """The same key from another client is another appeal: a key never returns someone else's appeal."""
    neighbour = make_user("resident", world.tree.community_a1, username="neighbour")
    mine = post_json(client_for(world.resident), "/api/appeals", body(world), **{"Idempotency-Key": "shared-key"})
    theirs = post_json(client_for(neighbour), "/api/appeals", body(world, title="另一件诉求"), **{"Idempotency-Key": "shared-key"})
    anonymous = post_json(Client(), "/api/appeals", body(world, title="匿名诉求"), **{"Idempotency-Key": "shared-key"})
    assert (mine.status_code, theirs.status_code, anonymous.status_code) == (201, 201, 201)
    assert len({mine.json()["id"], theirs.json()["id"], anonymous.json()["id"]}) == 3
    assert Appeal.objects.get(pk=theirs.json()["id"]).title == "另一件诉求"
    # Each caller's retry still finds its own appeal.
    again = post_json(client_for(neighbour), "/api/appeals", body(world), **{"Idempotency-Key": "shared-key"})
    assert again.status_code == 200 and again.json()["id"] == theirs.json()["id"]
    again = post_json(Client(), "/api/appeals", body(world), **{"Idempotency-Key": "shared-key"})
    assert again.status_code == 200 and again.json()["id"] == anonymous.json()["id"]
    # Staff entering on a resident's behalf have their own keys too.
    staff = services.appeal_submit(
        actor=world.community_staff,
        data=services.AppealInput(**_service_input(world)), idempotency_key="shared-key", on_behalf=True,
    )
    assert staff.pk not in {mine.json()["id"], theirs.json()["id"], anonymous.json()["id"]}
    assert not getattr(staff, "replayed", False)


def test_idempotency_key_too_long_names_the_header(world):
    response = post_json(client_for(world.resident), "/api/appeals", body(world), **{"Idempotency-Key": "k" * 81})
    assert response.status_code == 400
    assert response.json()["field"] == "idempotency_key"


def test_service_replay_is_marked(world):
    data = services.AppealInput(**_service_input(world))
    first = services.appeal_submit(actor=world.resident, data=data, idempotency_key="svc-1")
    second = services.appeal_submit(actor=world.resident, data=services.AppealInput(**_service_input(world)), idempotency_key="svc-1")
    assert first.pk == second.pk
    assert not getattr(first, "replayed", False) and second.replayed is True


# --- bad input names the field ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "status", "field", "code"),
    [
        ({"text": ""}, 400, "text", "required"),
        ({"text": "   "}, 400, "text", "required"),
        ({"text": "长" * 2001}, 400, "text", "too_long"),
        ({"title": ""}, 400, "title", "required"),
        ({"title": "题" * 61}, 400, "title", "too_long"),
        ({"category": 999999}, 400, "category", "unknown_category"),
        ({"org_unit": 999999}, 400, "org_unit", "unknown_org_unit"),
        ({"latitude": 39.9, "longitude": 116.4}, 400, "latitude", "outside_area"),
        ({"latitude": 22.55}, 400, "longitude", "invalid"),
        ({"latitude": 95.0, "longitude": 113.1}, 400, "latitude", "invalid_coordinates"),
        ({"contact_phone": "12345"}, 400, "contact_phone", None),
        ({"address": "地" * 201}, 400, "address", "too_long"),
        ({"nature": "gossip"}, 422, "nature", "invalid"),
        ({"category": "lift"}, 422, "category", "invalid"),
        ({"latitude": "north"}, 422, "latitude", "invalid"),
    ],
)
def test_bad_input_names_the_field(world, overrides, status, field, code):
    response = post_json(client_for(world.resident), "/api/appeals", body(world, **overrides))
    assert response.status_code == status, response.content
    data = response.json()
    assert data["field"] == field
    if code:
        assert data["code"] == code
    assert data["message"]
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("field", ["title", "text", "address", "contact_name"])
def test_control_characters_are_refused(world, field):
    """PostgreSQL cannot store NUL; the API and the service both name the field instead of failing later."""
    response = post_json(client_for(world.resident), "/api/appeals", body(world, **{field: "电梯\u0000停运"}))
    assert response.status_code == 422 and response.json()["field"] == field
    with pytest.raises(InvalidInput) as exc:
        services.appeal_submit(actor=world.resident, data=services.AppealInput(**_service_input(world, **{field: "a\x00b"})))
    assert exc.value.field == field and exc.value.code == "invalid_characters"
    assert post_json(client_for(world.resident), "/api/appeals", body(world, text="第一行\n第二行\t缩进")).status_code == 201


@pytest.mark.parametrize("param", ["category_id", "org_unit_id", "unit_id"])
def test_out_of_range_ids_in_filters_are_refused(world, param):
    response = client_for(world.dispatcher).get("/api/appeals", {param: 2**64})
    assert response.status_code == 422 and response.json()["field"] == param


def test_missing_field_names_it(world):
    data = body(world)
    del data["title"]
    response = post_json(client_for(world.resident), "/api/appeals", data)
    assert response.status_code == 422
    assert response.json()["field"] == "title"


def test_inactive_category_is_unknown(world):
    world.cat_water.is_active = False
    world.cat_water.save(update_fields=["is_active"])
    response = post_json(client_for(world.resident), "/api/appeals", body(world, category=world.cat_water.pk))
    assert response.status_code == 400 and response.json()["field"] == "category"


def test_coordinates_inside_the_district_are_kept(world):
    response = post_json(client_for(world.resident), "/api/appeals", body(world, latitude=22.58, longitude=113.12))
    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get(pk=response.json()["id"])
    assert (appeal.latitude, appeal.longitude) == (22.58, 113.12)


def test_text_limit_comes_from_the_profile(world):
    set_param("appeals.text_max_length", 20)
    response = post_json(client_for(world.resident), "/api/appeals", body(world, text="字" * 21))
    assert response.status_code == 400 and response.json()["field"] == "text"
    assert post_json(client_for(world.resident), "/api/appeals", body(world, text="字" * 20)).status_code == 201


# --- place and handling level -----------------------------------------------------------------------------------


def test_grid_address_is_handled_by_its_community(world):
    response = post_json(client_for(world.resident), "/api/appeals", body(world, org_unit=world.tree.grid_a1.pk))
    assert response.status_code == 201, response.content
    assert response.json()["handling_level_id"] == world.tree.community_a1.pk
    appeal = Appeal.objects.get(pk=response.json()["id"])
    assert appeal.org_unit == world.tree.grid_a1 and appeal.handling_level == world.tree.community_a1
    # The community (and levels above) triage it; the grid worker sees it but does not dispatch.
    dispatched = post_json(client_for(world.community_staff), f"/api/appeals/{appeal.pk}/actions/dispatch", {})
    assert dispatched.status_code == 200, dispatched.content
    assert client_for(world.grid_worker).get(f"/api/appeals/{appeal.pk}").status_code == 200


def test_street_level_place_is_handled_by_the_street(world):
    appeal = submit(world, unit=world.tree.street_a)
    assert appeal.handling_level == world.tree.street_a


# --- photos -----------------------------------------------------------------------------------------------------


def multipart(client: Client, world, photos, **extra):
    data = {**{k: str(v) for k, v in body(world).items()}, **extra}
    if photos is not None:
        data["photos"] = photos
    return client.post("/api/appeals/with-photos", data=data)


def test_real_png_is_accepted(world):
    photo = SimpleUploadedFile("电梯井.png", png_bytes(), content_type="application/octet-stream")
    response = multipart(client_for(world.resident), world, [photo])
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(appeal_id=response.json()["id"])
    assert attachment.content_type == "image/png" and attachment.purpose == "submission"
    assert attachment.size == len(png_bytes())
    detail = client_for(world.resident).get(f"/api/appeals/{response.json()['id']}").json()
    assert [a["name"] for a in detail["attachments"]] == ["电梯井.png"]


def test_several_photos_and_anonymous_multipart(world):
    photos = [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(3)]
    response = multipart(Client(), world, photos)
    assert response.status_code == 201, response.content
    assert Attachment.objects.filter(appeal_id=response.json()["id"]).count() == 3


def test_text_file_named_jpg_is_rejected(world):
    fake = SimpleUploadedFile("photo.jpg", "这不是图片".encode(), content_type="image/jpeg")
    response = multipart(client_for(world.resident), world, [fake])
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "photos" and response.json()["code"] == "not_an_image"
    assert not Appeal.objects.exists() and not Attachment.objects.exists()


def test_too_large_photo_is_rejected(world):
    set_param("appeals.photo_max_bytes", 1024)
    big = SimpleUploadedFile("big.png", png_bytes((400, 400)) + b"\0" * 2048, content_type="image/png")
    response = multipart(client_for(world.resident), world, [big])
    assert response.status_code == 400
    assert response.json()["field"] == "photos" and response.json()["code"] == "photo_too_large"
    assert not Appeal.objects.exists()


def test_too_many_photos_are_rejected(world):
    set_param("appeals.photo_max_count", 2)
    photos = [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(3)]
    response = multipart(client_for(world.resident), world, photos)
    assert response.status_code == 400 and response.json()["code"] == "too_many_photos"


def test_multipart_bad_field_is_named(world):
    response = multipart(client_for(world.resident), world, None, text="")
    assert response.status_code == 400 and response.json()["field"] == "text"


def test_reply_evidence_photos(world):
    from yishi.appeals.testing import drive_to

    appeal = drive_to(world, AppealState.IN_PROGRESS)
    url = f"/api/appeals/{appeal.pk}/actions/submit_reply/with-photos"
    fake = SimpleUploadedFile("evidence.jpg", b"not an image", content_type="image/jpeg")
    refused = client_for(world.housing_liaison).post(url, data={"text": "已完成", "photos": [fake]})
    assert refused.status_code == 400 and refused.json()["field"] == "photos"
    photo = SimpleUploadedFile("完工.png", png_bytes(), content_type="image/png")
    response = client_for(world.housing_liaison).post(url, data={"text": "已完成", "photos": [photo]})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == AppealState.REPLY_SUBMITTED
    assert [a["purpose"] for a in response.json()["attachments"]] == ["reply"]


# --- staff entry on a resident's behalf -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["walk_in", "phone", "grid_visit", "station"])
def test_staff_enter_on_behalf(world, channel):
    data = body(world, channel=channel, contact_name="李大爷", contact_phone="13700137000", urgency="urgent")
    response = post_json(client_for(world.community_staff), "/api/appeals/on-behalf", data)
    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get(pk=response.json()["id"])
    assert appeal.channel == channel and appeal.entered_by == world.community_staff
    assert appeal.submitter is None and appeal.contact_name == "李大爷" and appeal.urgency == "urgent"


def test_on_behalf_needs_an_intake_role_in_the_area(world):
    data = body(world, channel="phone", contact_phone="13700137000")
    assert post_json(client_for(world.resident), "/api/appeals/on-behalf", data).status_code == 403
    assert post_json(client_for(world.street_b_staff), "/api/appeals/on-behalf", data).status_code == 403
    assert post_json(client_for(world.housing_liaison), "/api/appeals/on-behalf", data).status_code == 403
    assert post_json(Client(), "/api/appeals/on-behalf", data).status_code == 401
    deputy = make_user("deputy", world.tree.community_a1)
    assert post_json(client_for(deputy), "/api/appeals/on-behalf", {**data, "channel": "station"}).status_code == 201
    with pytest.raises(PermissionDenied):
        services.appeal_submit(actor=world.resident, data=services.AppealInput(**_service_input(world)), on_behalf=True)


def test_on_behalf_channel_must_be_a_staff_channel(world):
    response = post_json(client_for(world.community_staff), "/api/appeals/on-behalf", body(world, channel="web"))
    assert response.status_code == 422 and response.json()["field"] == "channel"


def test_unknown_channel_is_refused_by_the_service(world):
    with pytest.raises(InvalidInput) as exc:
        services.appeal_submit(actor=world.resident, data=services.AppealInput(**_service_input(world)), channel="fax")
    assert exc.value.field == "channel"


# --- token scopes -----------------------------------------------------------------------------------------------


def _token(user, scopes):
    from yishi.accounts.services import token_create

    return token_create(actor=user, user=user, name="app", scopes=scopes)[1]


def test_public_submission_with_a_read_token_is_refused(world):
    client = Client()
    read = {"Authorization": f"Bearer {_token(world.resident, ['read'])}"}
    response = post_json(client, "/api/appeals", body(world), **read)
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
    write = {"Authorization": f"Bearer {_token(world.resident, ['write'])}"}
    response = post_json(client, "/api/appeals", body(world), **write)
    assert response.status_code == 201
    assert Appeal.objects.get(pk=response.json()["id"]).submitter == world.resident


def test_session_submission_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.resident, backend="django.contrib.auth.backends.ModelBackend")
    response = post_json(client, "/api/appeals", body(world))
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    # An anonymous caller has no session to abuse.
    assert post_json(Client(enforce_csrf_checks=True), "/api/appeals", body(world)).status_code == 201
