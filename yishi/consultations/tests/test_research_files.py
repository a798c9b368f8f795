"""Research attachments (不调研不协商): uploaded through the page and the API, checked against the policy profile
(count, size, kind read from the content) before anything is written, and served only to those who may see the
topic."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from yishi.audit.models import AuditEvent
from yishi.conftest import client_for
from yishi.consultations import services
from yishi.consultations.choices import TopicState as S
from yishi.consultations.models import ResearchAttachment, ResearchRecord
from yishi.consultations.testing import drive_topic
from yishi.core.errors import InvalidInput
from yishi.core.uploads import sniff
from yishi.policy.models import PolicyProfile
from yishi.policy.services import default_profile, profile_update

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def pdf(name: str = "路灯台账.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def png(name: str = "现场.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def set_param(key: str, value) -> PolicyProfile:
    profile = default_profile()
    return profile_update(actor=None, profile=profile, params={**profile.params, key: value})


def page_post(client: Client, topic, files, **fields):
    data = {"research-kind": "site_visit", "research-title": "夜间走访", "research-text": "12 盏路灯不亮。", "research-attachments": files}
    data.update({f"research-{k}": v for k, v in fields.items()})
    return client.post(f"/consultations/topics/{topic.pk}/actions/research/", data)


def api_post(client: Client, topic, files, **fields):
    data = {"kind": "policy", "title": "政策梳理", "text": "城市照明管理规定。", **fields}
    if files is not None:
        data["attachments"] = files
    return client.post(f"/api/consultations/topics/{topic.pk}/research/with-files", data)


def nothing_written() -> bool:
    return not ResearchRecord.objects.filter(title__in=["夜间走访", "政策梳理"]).exists() and not ResearchAttachment.objects.exists()


# --- the check itself ---------------------------------------------------------------------------------------------


def test_the_kind_is_read_from_the_content_not_the_name():
    assert sniff(io.BytesIO(PDF)) == "pdf"
    assert sniff(io.BytesIO(png_bytes())) == "png"
    assert sniff(io.BytesIO(docx_bytes())) == "docx"
    assert sniff(io.BytesIO("这是一段文字".encode())) is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as package:
        package.writestr("a.txt", "x")
    assert sniff(plain_zip) is None
    assert sniff(io.BytesIO(PDF), allowed=["png"]) is None


# --- page ---------------------------------------------------------------------------------------------------------


def test_member_uploads_several_attachments_through_the_page(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    docx = SimpleUploadedFile("问卷.docx", docx_bytes(), content_type="application/msword")
    response = page_post(client_for(cw.member), topic, [pdf(), png(), docx])
    assert response.status_code == 302, response.content.decode()[:3000]
    research = ResearchRecord.objects.get(topic=topic, title="夜间走访")
    files = list(research.attachments.order_by("pk"))
    assert [(a.name, a.content_type) for a in files] == [
        ("路灯台账.pdf", "application/pdf"), ("现场.png", "image/png"),
        ("问卷.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
    assert files[0].size == len(PDF) and files[0].uploaded_by == cw.member
    event = AuditEvent.objects.filter(code="consultations.research.submitted").latest("seq")
    assert [a["name"] for a in event.after["attachments"]] == ["路灯台账.pdf", "现场.png", "问卷.docx"]
    page = client_for(cw.party_a1).get(f"/consultations/topics/{topic.pk}/").content.decode()
    link = f"/consultations/topics/{topic.pk}/files/{files[0].pk}/"
    assert link in page and "路灯台账.pdf" in page


def test_the_research_form_is_multipart_and_states_the_profile_limits(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    set_param("consultations.attachment_max_count", 4)
    page = client_for(cw.member).get(f"/consultations/topics/{topic.pk}/").content.decode()
    form = re.search(r'<form[^>]*actions/research/[^>]*>', page).group(0)
    assert 'enctype="multipart/form-data"' in form and 'hx-encoding="multipart/form-data"' in form
    assert 'name="research-attachments"' in page and "multiple" in re.search(r'<input[^>]*research-attachments[^>]*>', page).group(0)
    assert "最多 4 个" in page


def test_a_htmx_upload_answers_with_the_topic_body(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    client = client_for(cw.member)
    data = {"research-kind": "note", "research-title": "夜间走访", "research-text": "记录", "research-attachments": [png()]}
    response = client.post(f"/consultations/topics/{topic.pk}/actions/research/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "现场.png" in response.content.decode()


def test_too_large_attachment_on_the_page_names_the_field_and_writes_nothing(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    set_param("consultations.attachment_max_bytes", 1024)
    response = page_post(client_for(cw.member), topic, [png(), pdf(content=PDF + b"%" * 2048)])
    assert response.status_code == 400
    error = re.search(r'id="id_research-attachments_error">(.*?)</ul>', response.content.decode(), re.S)
    assert error and "路灯台账.pdf" in error.group(1) and "1 KB" in error.group(1)
    assert nothing_written()


def test_wrong_type_on_the_page_is_refused(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    fake = SimpleUploadedFile("报告.pdf", "其实是文本".encode(), content_type="application/pdf")
    response = page_post(client_for(cw.member), topic, [fake])
    assert response.status_code == 400
    error = re.search(r'id="id_research-attachments_error">(.*?)</ul>', response.content.decode(), re.S)
    assert error and "不是有效的附件" in error.group(1)
    assert nothing_written()


# --- API ----------------------------------------------------------------------------------------------------------


def test_api_upload_lists_attachments_and_downloads_them(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    client = client_for(cw.member)
    response = api_post(client, topic, [pdf(), png()])
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["name"], a["content_type"]) for a in body["attachments"]] == [
        ("路灯台账.pdf", "application/pdf"), ("现场.png", "image/png"),
    ]
    pdf_url, png_url = (a["url"] for a in body["attachments"])
    download = client_for(cw.resident).get(pdf_url)  # a resident of the area follows the topic
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf" and download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")
    image = client.get(png_url)
    assert image.status_code == 200 and image["Content-Disposition"].startswith("inline")
    detail = client.get(f"/api/consultations/topics/{topic.pk}").json()
    research = next(r for r in detail["research"] if r["id"] == body["id"])
    assert [a["url"] for a in research["attachments"]] == [pdf_url, png_url]


def test_api_json_research_still_works_without_files(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    response = client_for(cw.member).post(
        f"/api/consultations/topics/{topic.pk}/research", {"kind": "note", "title": "笔记", "text": "内容"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["attachments"] == []
    assert api_post(client_for(cw.member), topic, None).status_code == 201


@pytest.mark.parametrize(("param", "value", "files", "code"), [
    ("consultations.attachment_max_bytes", 50, lambda: [pdf()], "file_too_large"),
    ("consultations.attachment_max_count", 1, lambda: [pdf(), png()], "too_many_files"),
    ("consultations.attachment_kinds", ["pdf"], lambda: [png()], "file_type_not_allowed"),
    (None, None, lambda: [SimpleUploadedFile("x.png", b"not an image", content_type="image/png")], "file_type_not_allowed"),
])
def test_api_refuses_bad_files_naming_the_field_and_writes_nothing(cw, param, value, files, code):
    topic = drive_topic(cw, S.RESEARCHING)
    if param:
        set_param(param, value)
    before = AuditEvent.objects.count()
    response = api_post(client_for(cw.member), topic, files())
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "attachments" and response.json()["code"] == code
    assert nothing_written()
    assert AuditEvent.objects.count() == before


def test_service_refuses_before_writing(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    set_param("consultations.attachment_max_count", 1)
    with pytest.raises(InvalidInput) as caught:
        services.research_add(actor=cw.member, topic=topic, kind="note", title="夜间走访", text="x", attachments=[pdf(), png()])
    assert caught.value.field == "attachments"
    assert nothing_written()


# --- who may download -------------------------------------------------------------------------------------------


def test_outsiders_get_not_found_for_the_file(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    research = services.research_add(actor=cw.member, topic=topic, kind="note", title="夜间走访", text="x", attachments=[pdf()])
    item = research.attachments.get()
    page_url = f"/consultations/topics/{topic.pk}/files/{item.pk}/"
    api_url = f"/api/consultations/topics/{topic.pk}/research/{research.pk}/attachments/{item.pk}"
    assert client_for(cw.party_a1).get(page_url).status_code == 200
    for outsider in (cw.outsider, cw.community_b_staff):
        assert client_for(outsider).get(page_url).status_code == 404
        assert client_for(outsider).get(api_url).status_code == 404
    assert Client().get(page_url).status_code == 302  # signed out: to the login page
    assert Client().get(api_url).status_code == 401
    # The ids must belong together: another topic's id does not open this file.
    other = drive_topic(cw, S.RESEARCHING, title="另一议题")
    assert client_for(cw.party_a1).get(f"/consultations/topics/{other.pk}/files/{item.pk}/").status_code == 404
    assert client_for(cw.party_a1).get(
        f"/api/consultations/topics/{other.pk}/research/{research.pk}/attachments/{item.pk}"
    ).status_code == 404


def test_escalation_carries_the_attachments(cw):
    topic = drive_topic(cw, S.RESEARCHING)
    services.research_add(actor=cw.member, topic=topic, kind="note", title="夜间走访", text="x", attachments=[pdf(), png()])
    new = services.topic_escalate(actor=cw.community_staff, topic=topic, reason="需要街道协调")
    copied = ResearchAttachment.objects.filter(research__topic=new).order_by("pk")
    original = ResearchAttachment.objects.filter(research__topic=topic).order_by("pk")
    assert [(a.name, a.file.name) for a in copied] == [(a.name, a.file.name) for a in original]
    url = f"/consultations/topics/{new.pk}/files/{copied[0].pk}/"
    assert client_for(cw.street_a_staff).get(url).status_code == 200
