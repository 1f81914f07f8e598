"""Photos: upload through the API (wx.uploadFile), direct upload (presigned POST + confirm),
reading with short-lived signed URLs; and the folder backend's signed file routes."""

from __future__ import annotations

import functools

from flask import Flask, current_app, request, send_file
from flask.views import MethodView
from marshmallow import ValidationError, fields, post_dump, validate
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from accounts.models import Role
from api import examples, health
from api.auth import EVERYONE, current_user, public, requires
from api.etag import sends_etag
from api.extensions import Blueprint, Parser
from api.media_types import MULTIPART, accepts
from api.operation_docs import idempotent
from api.pagination import paginate
from api.schemas import (
    AwareDateTime,
    Float,
    Id,
    Int,
    Integer,
    PageArgs,
    Pattern,
    QueryId,
    Schema,
    enum_field,
    page_of,
)
from core import errors
from core.geo import COORD_SYSTEM_LABELS, CoordSystem
from inspections import photos as inspection_photos
from inspections import policy as inspection_policy
from media import service as media
from media.models import PHOTO_FLAG_LABELS, PhotoStatus
from media.pipeline import ACCEPTED_TYPES, CONTENT_TYPES
from media.storage import LocalStorage, current_storage
from rectification import photos as rectification_photos


class MultipartParser(Parser):
    """Reads the `files` location as the whole multipart form, fields and files together,
    so one schema parses (and documents) what wx.uploadFile sends."""

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class PhotoBlueprint(Blueprint):
    ARGUMENTS_PARSER = MultipartParser(unknown=None)


blp = PhotoBlueprint(
    "photos", __name__, url_prefix="/api/v1", description="照片证据：上传、直传、查看"
)

UPLOADERS = (Role.office_admin, Role.inspector, Role.unit_staff)
SHA256 = Pattern(r"^[0-9a-fA-F]{64}$")


def init_app(app: Flask) -> None:
    """The storage chosen by STORAGE_URL, and its health check."""
    from media.storage import from_config

    app.extensions["storage"] = from_config(app.config)
    health.register_check(app, "storage", lambda: current_app.extensions["storage"].ping())


def photo_body_limit(view):
    """Raise the 1 MiB JSON body limit to MAX_PHOTO_BYTES for this route, before the form is
    parsed. werkzeug spools file parts over 500 KB to a temporary file, not memory."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        # Room for the form fields and multipart boundaries around the file.
        request.max_content_length = current_app.config["MAX_PHOTO_BYTES"] + 64 * 1024
        return view(*args, **kwargs)

    return wrapper


# -- schemas ------------------------------------------------------------------------------


class Latitude(fields.Float):
    def __init__(self, **kw):
        super().__init__(allow_nan=False, validate=validate.Range(-90, 90), **kw)


class Longitude(fields.Float):
    def __init__(self, **kw):
        super().__init__(allow_nan=False, validate=validate.Range(-180, 180), **kw)


# What a photo belongs to: the kinds the domains register with media (an inspection's
# photos, a task's after-photos). Documented as an enum; the registry decides (404 else).
OWNER_TYPES = {inspection_photos.KIND: "检查照片", rectification_photos.KIND: "整改照片"}
OWNER_TYPE_DOC = {
    "enum": list(OWNER_TYPES),
    "description": "；".join(f"{kind} {label}" for kind, label in OWNER_TYPES.items()),
}


class AttachTo(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "客户端生成，重试时不变"})
    owner_type = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata=OWNER_TYPE_DOC
    )
    owner_id = Id(required=True)
    item_code = fields.String(validate=validate.Length(min=1, max=64))
    taken_at = AwareDateTime(metadata={"description": "客户端记录的拍摄时间"})
    latitude = Latitude()
    longitude = Longitude()
    coord_system = enum_field(
        CoordSystem,
        COORD_SYSTEM_LABELS,
        load_default=CoordSystem.wgs84,
        metadata={"description": "latitude/longitude 的坐标系，同 wx.getLocation 的 type"},
    )
    sha256 = fields.String(validate=SHA256, metadata={"description": "原图 SHA-256（可选）"})


class UploadedFile(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("应为文件")
        return value


class UploadForm(AttachTo):
    """The multipart form: text fields (so the id is parsed from digits), then `file`."""

    owner_id = QueryId(required=True)
    file = UploadedFile(required=True, metadata={"type": "string", "format": "binary"})


class DirectUploadSchema(AttachTo):
    content_type = enum_field(sorted(ACCEPTED_TYPES), required=True)
    size = Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, error="应为正整数（字节数）"),
        metadata={"description": "原图字节数（1 至 MAX_PHOTO_BYTES）；确认时须与收到的一致"},
    )


class PhotoUrls(Schema):
    original = fields.String(allow_none=True)
    preview = fields.String(allow_none=True)
    thumb = fields.String(allow_none=True)


class PhotoSchema(Schema):
    """A stored photo as every route shows it; other resources nest it."""

    id = Id()
    client_id = fields.String()
    owner_type = fields.String(metadata=OWNER_TYPE_DOC)
    owner_id = Int()
    item_code = fields.String(allow_none=True)
    unit_id = Int()
    status = enum_field([s.value for s in PhotoStatus])
    size = Int(allow_none=True)
    content_type = fields.String(allow_none=True)
    width = Int(allow_none=True)
    height = Int(allow_none=True)
    sha256 = fields.String(allow_none=True)
    phash = fields.String(allow_none=True)
    exif_taken_at = fields.DateTime(allow_none=True)
    exif_latitude = Float(allow_none=True)
    exif_longitude = Float(allow_none=True)
    client_taken_at = fields.DateTime(allow_none=True)
    client_latitude = Float(allow_none=True)
    client_longitude = Float(allow_none=True)
    client_coord_system = enum_field(CoordSystem, COORD_SYSTEM_LABELS)
    received_at = fields.DateTime(allow_none=True)
    uploaded_by_id = Int(allow_none=True, metadata={"description": "暗访不公开检查人员时为空"})
    flags = fields.Function(media.flags_of, metadata={"description": "证据提示，仅供参考"})
    distance_m = Float(allow_none=True, metadata={"description": "距单位位置（米）"})
    near_duplicate_of_id = Int(allow_none=True)
    urls = fields.Function(
        lambda photo: {variant: media.signed_url(photo, variant) for variant in media.VARIANTS},
        metadata={"description": "短时有效的签名地址"},
    )

    @post_dump(pass_original=True)
    def _covert(self, data, photo, **_):
        if photo.owner_type == "inspection" and photo.uploaded_by_id in (
            inspection_policy.covert_ids_of(current_user(), photo.owner_id)
        ):
            data["uploaded_by_id"] = None
        return data


class PresignedPostSchema(Schema):
    url = fields.String(metadata={"description": "上传地址（绝对 URL）：wx.uploadFile 的 url"})
    fields_ = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        data_key="fields",
        attribute="fields",
        metadata={
            "description": "表单字段，原样放入 wx.uploadFile 的 formData（文件字段名为 file，"
            "放在最后）；文件夹存储时为空对象，S3 时为 key、policy、签名等"
        },
    )
    expires_at = fields.DateTime()


class DirectUploadResult(Schema):
    photo = fields.Nested(PhotoSchema)
    upload = fields.Nested(PresignedPostSchema, allow_none=True)


class PhotoFilter(PageArgs):
    owner_type = fields.String(validate=validate.Length(min=1, max=40), metadata=OWNER_TYPE_DOC)
    owner_id = QueryId()
    item_code = fields.String(validate=validate.Length(min=1, max=64))
    unit_id = QueryId()
    flag = fields.List(enum_field(media.EVIDENCE_FLAGS, PHOTO_FLAG_LABELS))


# -- routes -------------------------------------------------------------------------------


@blp.route("/photos")
class Photos(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(PhotoFilter, location="query")
    @blp.response(200, page_of(PhotoSchema))
    def get(self, args):
        """照片列表（按所属对象；督查办可跨对象按证据提示筛选）

        调用者可见的照片分页列表，每张含短时签名地址。A page of photos with signed URLs.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        flags = args.pop("flag", [])
        return paginate(
            media.list_photos(actor=current_user(), flags=flags, **args), page, per_page
        )

    @requires(*UPLOADERS)
    @photo_body_limit
    @blp.arguments(UploadForm, location="files", example=examples.PHOTO_UPLOAD)
    @blp.response(201, PhotoSchema, example=examples.PHOTO)
    @blp.alt_response(200, schema=PhotoSchema, description="重试：返回首次上传的结果")
    def post(self, form):
        """上传照片（multipart，wx.uploadFile 的 file 字段 + 表单字段）

        校验并处理图片（类型、大小、像素、EXIF），写入原图、预览图和缩略图，记录证据提示。Stores
        one photo and its variants.
        """
        upload = form.pop("file")
        form["declared_type"] = upload.mimetype
        photo, created = media.upload_photo(form, upload.stream, actor=current_user())
        return photo, 201 if created else 200


@blp.route("/photo-uploads")
class PhotoUploads(MethodView):
    @requires(*UPLOADERS)
    @blp.arguments(DirectUploadSchema, example=examples.DIRECT_UPLOAD)
    @blp.response(201, DirectUploadResult, example=examples.DIRECT_UPLOAD_RESULT)
    @blp.alt_response(
        200,
        schema=DirectUploadResult,
        description="同一 client_id 的重试：同一照片，重新签发的上传表单（已确认则无）",
    )
    def post(self, data):
        """申请直传（预签名 POST）：上传到存储后调用 confirm

        新建一张待上传（pending）的照片，签发上传表单（PHOTO_UPLOAD_TTL_SECONDS
        内有效）；确认前照片不可用。Creates a pending photo and a presigned upload form.
        """
        limit = current_app.config["MAX_PHOTO_BYTES"]
        if data["size"] > limit:
            raise errors.PayloadTooLarge(f"照片超过 {limit // (1024 * 1024)} MB 上限")
        photo, post, created = media.start_direct_upload(data, actor=current_user())
        upload = post and {"url": post.url, "fields": post.fields, "expires_at": photo.expires_at}
        return {"photo": photo, "upload": upload}, 201 if created else 200


@blp.route("/photos/<int:photo_id>")
class PhotoById(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, PhotoSchema)
    def get(self, photo_id):
        """查看照片（含短时签名地址与证据提示）

        一张照片；urls 每次重新签发。One photo; its URLs are signed anew.
        """
        return media.get_photo(photo_id, actor=current_user())


@blp.route("/photos/<int:photo_id>/confirm")
class PhotoConfirm(MethodView):
    @requires(*UPLOADERS)
    @idempotent(
        "确认是对已有照片的操作：首次与每次重复均返回 200 与同一照片 / the first and every repeat "
        "answer 200 with the same photo."
    )
    @blp.response(200, PhotoSchema, example=examples.CONFIRMED)
    def post(self, photo_id):
        """确认直传：服务器核对实际收到的文件（与申请时声明的大小一致、类型、SHA-256）并处理；
        重复确认（含同时到达的）均返回 200 与同一照片

        照片由 pending 变为 stored：原图写入新的键，生成预览图和缩略图；大小不符时删除收到的文件，
        照片保持 pending，可重新上传后再确认。Checks the uploaded object and stores the photo.
        """
        return media.confirm_upload(photo_id, actor=current_user())


# -- the folder backend's signed URLs (S3 serves its own) ---------------------------------


def _local_storage() -> LocalStorage:
    storage = current_storage()
    if not isinstance(storage, LocalStorage):
        raise errors.NotFound()
    return storage


_IMAGE_DOC = "照片文件（原图或缩略图，按上传的类型）"


def _documents_image_answers(view):
    """A photo file answers in the type it was stored as: each is documented for 200."""
    binary = {"type": "string", "format": "binary"}
    types = sorted(set(CONTENT_TYPES.values()))
    view = blp.response(200, binary, description=_IMAGE_DOC, content_type=types[0])(view)
    for content_type in types[1:]:
        view = blp.alt_response(200, schema=binary, content_type=content_type)(view)
    return blp.alt_response(304, description="未变化（If-None-Match / If-Modified-Since）")(view)


@blp.route("/media/files/<token>")
class MediaFile(MethodView):
    @public
    @sends_etag  # send_file's own, for the browser's and the phone's caches
    @_documents_image_answers
    def get(self, token):
        """下载照片（签名地址，短时有效）

        文件夹存储时的照片文件；令牌过期或无效为 404。The file behind a signed URL.
        """
        storage = _local_storage()
        claims = storage.read_token(token, "get")
        path = storage.path_of(claims["k"])
        if not path.is_file():
            raise errors.NotFound()
        response = send_file(path, mimetype=claims["t"], conditional=True, max_age=60)
        response.headers["Cache-Control"] = "private, max-age=60"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


@blp.route("/media/uploads/<token>")
class MediaUpload(MethodView):
    @public
    @idempotent("重发覆盖前一次上传的文件，结果相同 / a resend replaces the earlier bytes.")
    @accepts(*MULTIPART)
    def post(self, token):
        """直传目标（本地存储时代替 S3 的预签名 POST）

        把文件写入该照片的待确认位置（覆盖此前上传的）；照片确认后或过期后 409
        urn:problem:upload-closed。Writes the file to the pending photo's object.
        """
        storage = _local_storage()
        claims = storage.read_token(token, "post")
        if not media.accepts_direct_upload(claims["k"]):
            # Confirmed (or expired): the target is spent, whatever the token says.
            raise errors.Conflict(
                "该照片已确认或上传已过期，不能再上传", type="urn:problem:upload-closed"
            )
        request.max_content_length = claims["m"] + 64 * 1024
        upload = request.files.get("file")
        if upload is None:
            raise errors.InvalidInput(errors={"file": ["缺少文件"]})
        if storage.head(claims["k"]) is not None:
            # A resent POST replaces what an earlier one left, as on S3; nothing refers
            # to an incoming object but its pending photo.
            storage.delete(claims["k"])
        storage.put(claims["k"], upload.stream, content_type=claims["t"])
        return "", 204
