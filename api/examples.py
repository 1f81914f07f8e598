"""Example requests and answers of the mini program's operations, for the OpenAPI document.

The inspector's day (sign in, visits, check-in, answers, photos, submit) and the unit's
(tasks, reply, extension), as the API sends them, shortened where a list repeats itself.
tests/test_operation_docs.py validates each one against its schema, so an example cannot
drift from what the API accepts and answers; tests/test_api_examples.py checks that they
tell one story: the check-in and the times after it inside the example visit's window, and
every item code (with its title) one of the shipped checklist
(checklists/library/window_service.json), so a request copied from the document works.
"""

from __future__ import annotations

VISIT_ID, UNIT_ID, INSPECTION_ID, TASK_ID = 1287, 42, 3105, 5521
INSPECTION_UUID = "5f0c6a0e-8d1b-4f7e-9a53-2c4b8e1f7a10"
PHOTO_CLIENT_ID = "a3e1c9d2-6b4f-4e8a-b1d7-0f2e9c8b7a65"
DIRECT_CLIENT_ID = "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
REPLY_CLIENT_ID = "9b2d4f6a-8c0e-4a1b-9d3f-5e7a9c1b3d5f"
EXTENSION_CLIENT_ID = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"

USER = {
    "id": 77,
    "username": "insp01",
    "display_name": "李明",
    "role": "inspector",
    "role_label": "督查员",
    "unit_id": None,
    "sector_id": None,
}

WECHAT_LOGIN = {"code": "0c3Xk2000zGqLQ1Z0Y300pV4Ye0Xk20Q", "binding_code": "K7QF2M9X"}
TOKEN = {
    "token": "t1.Zp9wq3N6m1c0b8f2d4e6a8c0e2f4a6b8",
    "token_type": "Bearer",
    "expires_at": "2026-12-07T01:30:00+00:00",
    "user": USER,
}

VISIT = {
    "id": VISIT_ID,
    "plan_id": 31,
    "plan_name": "2026年第四季度政务服务窗口明察",
    "unit_id": UNIT_ID,
    "unit_name": "城关区政务服务中心",
    "unit_address": "城关区人民路 88 号",
    "unit_latitude": 36.0611,
    "unit_longitude": 103.8343,
    "kind": "announced",
    "status": "planned",
    "window_start": "2026-12-01T01:00:00+00:00",
    "window_end": "2026-12-01T04:00:00+00:00",
    "visible_from": "2026-11-30T01:00:00+00:00",
    "inspectors": [{"id": 77, "display_name": "李明"}, {"id": 81, "display_name": "王芳"}],
    "team_label": "李明、王芳",
}
VISIT_PAGE = {"items": [VISIT], "page": 1, "per_page": 20, "total": 1, "pages": 1}

CHECK_IN = {
    "latitude": 36.0613,
    "longitude": 103.8347,
    "accuracy_m": 18.0,
    "at": "2026-12-01T09:12:30+08:00",
    "type": "gcj02",
}
START = {"client_uuid": INSPECTION_UUID, "visit_id": VISIT_ID, "check_in": CHECK_IN}

ANSWERS = {
    "answers": {
        "dress.uniform": {"result": "fail", "note": "1 号窗口工作人员未着工装"},
        "dress.badge": {"result": "pass"},
        "smoking.signs": {"result": "pass"},
    },
    "photos": {"dress.uniform": [PHOTO_CLIENT_ID]},
    "fixed_on_spot": [],
}

INSPECTION = {
    "id": INSPECTION_ID,
    "client_uuid": INSPECTION_UUID,
    "visit_id": VISIT_ID,
    "plan_id": 31,
    "plan_name": "2026年第四季度政务服务窗口明察",
    "unit_id": UNIT_ID,
    "unit_name": "城关区政务服务中心",
    "sector_name": "政务服务",
    "region_name": "城关区",
    "kind": "announced",
    "ad_hoc": False,
    "inspector_id": 77,
    "inspector_name": "李明",
    "status": "draft",
    "started_at": "2026-12-01T01:12:31+00:00",
    "checkin_distance_m": 41.5,
    "checkin_far": False,
    "checkin_imprecise": False,
    "submitted_at": None,
    "score": None,
    "max_score": None,
    "grade": None,
    "critical_failed": False,
    "reviewed_score": None,
    "reviewed_grade": None,
    "reviewed_critical_failed": None,
    "findings_count": 0,
    "published_at": None,
    "version": 1,
    "checklist_version_id": 12,
    "checkin_latitude": 36.0613,
    "checkin_longitude": 103.8347,
    "checkin_accuracy_m": 18.0,
    "checkin_coord_system": "gcj02",
    "answers": {},
    "photos": {},
    "fixed_on_spot": [],
    "missing_photos": [],
    "missing_photos_reason": None,
    "findings": [],
    "seal": None,
    "score_history": [],
}
SAVED = INSPECTION | {
    "answers": ANSWERS["answers"],
    "photos": ANSWERS["photos"],
    "missing_photos": ["dress.uniform"],
    "version": 2,
}
FINDING = {
    "id": 9001,
    "inspection_id": INSPECTION_ID,
    "unit_id": UNIT_ID,
    "item_code": "dress.uniform",
    "title": "在岗人员统一规范着装",
    "severity": "general",
    "description": "1 号窗口工作人员未着工装",
    "status": "pending",
    "fixed_on_spot": False,
    "deadline_days": None,
    "critical": False,
    "photos": [PHOTO_CLIENT_ID],
    "reason": None,
    "reviewed_at": None,
    "version": 1,
}
SUBMITTED = SAVED | {
    "status": "submitted",
    "submitted_at": "2026-12-01T01:48:02+00:00",
    "score": 95.0,
    "max_score": 100.0,
    "grade": "优秀",
    "findings_count": 1,
    "findings": [FINDING],
    "missing_photos": [],
    "seal": {"value": "9f2c4e6a8b0d" + "1" * 52, "short": "9f2c4e6a8b0d", "links": 1},
    "version": 3,
}

SUBMIT = {"answers": {"smoking.signs": {"result": "pass"}}}  # the last answers, if any

OFFLINE = START | ANSWERS
SUBMISSION = {
    "id": INSPECTION_ID,
    "client_uuid": INSPECTION_UUID,
    "visit_id": VISIT_ID,
    "unit_id": UNIT_ID,
    "ad_hoc": False,
    "status": "submitted",
    "checkin_distance_m": 41.5,
    "checkin_far": False,
    "checkin_imprecise": False,
    "submitted_at": "2026-12-01T01:48:02+00:00",
    "score": 95.0,
    "max_score": 100.0,
    "grade": "优秀",
    "critical_failed": False,
    "findings_count": 1,
    "findings": [
        {
            "id": 9001,
            "item_code": "dress.uniform",
            "title": "在岗人员统一规范着装",
            "severity": "general",
            "status": "pending",
            "fixed_on_spot": False,
            "deadline_days": None,
        }
    ],
    "missing_photos": ["dress.uniform"],
    "version": 2,
}

_SIGNED = "https://inspect.example.gov.cn/api/v1/media/files/eyJrIjoicGhvdG9zLzIwMjYvMTIv"
PHOTO_UPLOAD = {
    "client_id": PHOTO_CLIENT_ID,
    "owner_type": "inspection",
    "owner_id": INSPECTION_ID,
    "item_code": "dress.uniform",
    "taken_at": "2026-12-01T09:20:11+08:00",
    "latitude": 36.0613,
    "longitude": 103.8347,
    "coord_system": "gcj02",
    "file": "(JPEG 图片文件 / the image file)",
}
PHOTO = {
    "id": 40211,
    "client_id": PHOTO_CLIENT_ID,
    "owner_type": "inspection",
    "owner_id": INSPECTION_ID,
    "item_code": "dress.uniform",
    "unit_id": UNIT_ID,
    "status": "stored",
    "size": 1843271,
    "content_type": "image/jpeg",
    "width": 4032,
    "height": 3024,
    "sha256": "3b7e9d1f" * 8,
    "phash": "c3a1e0f0f8e4c2d1",
    "exif_taken_at": "2026-12-01T01:20:09+00:00",
    "exif_latitude": 36.0612,
    "exif_longitude": 103.8346,
    "client_taken_at": "2026-12-01T01:20:11+00:00",
    "client_latitude": 36.0613,
    "client_longitude": 103.8347,
    "client_coord_system": "gcj02",
    "received_at": "2026-12-01T01:20:15+00:00",
    "uploaded_by_id": 77,
    "flags": [],
    "distance_m": 38.2,
    "near_duplicate_of_id": None,
    "urls": {
        "original": _SIGNED + "...original",
        "preview": _SIGNED + "...preview",
        "thumb": _SIGNED + "...thumb",
    },
}

DIRECT_UPLOAD = {
    "client_id": DIRECT_CLIENT_ID,
    "owner_type": "inspection",
    "owner_id": INSPECTION_ID,
    "item_code": "smoking.signs",
    "content_type": "image/jpeg",
    "size": 2214830,
    "sha256": "8d4c2b0a" * 8,
}
_PENDING = PHOTO | {
    "id": 40212,
    "client_id": DIRECT_CLIENT_ID,
    "item_code": "smoking.signs",
    "status": "pending",
    "content_type": None,  # found by reading the image, at confirm
    "size": 2214830,  # as announced; confirm refuses another
    "width": None,
    "height": None,
    "sha256": None,  # computed at confirm from what arrived
    "phash": None,
    "exif_taken_at": None,
    "exif_latitude": None,
    "exif_longitude": None,
    "client_taken_at": None,
    "client_latitude": None,
    "client_longitude": None,
    "received_at": None,
    "distance_m": None,
    "urls": {"original": None, "preview": None, "thumb": None},
}
DIRECT_UPLOAD_RESULT = {
    "photo": _PENDING,
    "upload": {
        "url": "https://oss-cn-lanzhou.example.com/inspection-photos",
        "fields": {
            "key": "incoming/2026/12/c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
            "Content-Type": "image/jpeg",
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": "AKIAEXAMPLE/20261201/us-east-1/s3/aws4_request",
            "x-amz-date": "20261201T012100Z",
            "policy": "eyJleHBpcmF0aW9uIjoiMjAyNi0xMi0wMVQwMTozNjowMFoiLCJjb25kaXRpb25zIjpb",
            "x-amz-signature": "5d41402abc4b2a76b9719d911017c592" * 2,
        },
        "expires_at": "2026-12-01T01:36:00+00:00",
    },
}
CONFIRMED = PHOTO | {
    "id": 40212,
    "client_id": DIRECT_CLIENT_ID,
    "item_code": "smoking.signs",
    "size": 2214830,
    "sha256": "8d4c2b0a" * 8,
}

# -- the unit ------------------------------------------------------------------------------

TASK = {
    "id": TASK_ID,
    "finding_id": 9001,
    "inspection_id": INSPECTION_ID,
    "plan_id": 31,
    "unit_id": UNIT_ID,
    "unit_name": "城关区政务服务中心",
    "sector_id": 3,
    "region_id": 8,
    "inspector_id": 77,
    "item_code": "dress.uniform",
    "title": "在岗人员统一规范着装",
    "description": "1 号窗口工作人员未着工装",
    "severity": "general",
    "status": "open",
    "status_label": "待整改",
    "overdue": False,
    "closed_late": False,
    "fixed_on_spot": False,
    "due_on": "2026-12-08",
    "due_at": "2026-12-08T15:59:59+00:00",
    "deadline_days": 7,
    "day_mode": "calendar",
    "round": 1,
    "rejections": 0,
    "extension_pending": False,
    "created_at": "2026-12-01T06:30:00+00:00",
    "responded_at": None,
    "closed_at": None,
    "version": 1,
}
TASK_PAGE = {"items": [TASK], "page": 1, "per_page": 20, "total": 1, "pages": 1}
TASK_DETAIL = TASK | {
    "replies": [],
    "extensions": [],
    "review": {
        "round": 1,
        "before": [PHOTO],
        "after": [],
        "description": None,
        "verdict": None,
    },
    "allowed_actions": ["respond", "request_extension"],
}

REPLY_CREATE = {
    "client_id": REPLY_CLIENT_ID,
    "description": "已为 1 号窗口工作人员配发工装，并在晨会上重申着装要求。",
    "photo_ids": [40377, 40378],
}
REPLY = {
    "id": 731,
    "round": 1,
    "description": REPLY_CREATE["description"],
    "photo_ids": [40377, 40378],
    "author_id": 205,
    "created_at": "2026-12-03T02:15:40+00:00",
    "verdict": None,
    "verdict_reason": None,
    "verified_by_id": None,
    "verified_at": None,
}

EXTENSION_CREATE = {
    "client_id": EXTENSION_CLIENT_ID,
    "due_on": "2026-12-15",
    "reason": "工装需统一采购，供货周期约两周。",
}
EXTENSION = {
    "id": 88,
    "status": "pending",
    "requested_due_on": "2026-12-15",
    "previous_due_on": "2026-12-08",
    "granted_due_on": None,
    "reason": EXTENSION_CREATE["reason"],
    "requested_by_id": 205,
    "requested_at": "2026-12-02T03:00:00+00:00",
    "decided_by_id": None,
    "decided_at": None,
    "decision_reason": None,
}
