"""Checklists: the office authors templates (sections, items) in drafts and publishes them;
inspectors fetch the version they fill in one cacheable request."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from api.auth import EVERYONE, OFFICE, OFFICE_READERS, current_user, requires
from api.checklist_schemas import (
    ChecklistFileSchema,
    ContentSchema,
    ExportArgs,
    ExportSchema,
    FormSchema,
    ItemSchema,
    NewDraftSchema,
    SectionSchema,
    TemplateFilter,
    TemplateSchema,
    TemplateUpdateSchema,
    VersionSchema,
    VersionSummarySchema,
)
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent
from api.pagination import paginate
from api.schemas import page_of
from checklists import content as fmt
from checklists import drafts, transfer
from checklists import policy as checklist_policy
from checklists import service as checklists
from checklists.models import ChecklistVersion
from org import service as org

blp = Blueprint(
    "checklists",
    __name__,
    url_prefix="/api/v1",
    description="检查表：模板、分区、检查项、版本发布，以及小程序填报用的检查表",
)


def _template_out(template):
    return template, {"ETag": etag_of(template.revision)}


def _version_out(version: ChecklistVersion, status: int = 200):
    return version, status, {"ETag": etag_of(version.revision)}


def _editable(version_id: int) -> ChecklistVersion:
    """A draft the office may change, proven current by If-Match: 404, 403 for who may not
    author, 409 for a published version, then 428 or 412 (permission before the version)."""
    version = checklists.get_version(version_id, actor=current_user())
    checklist_policy.check_author(current_user())
    checklists.require_draft(version)
    check_if_match(version.revision)
    return version


def _authored(found):
    """A template or version the caller may author (403 before If-Match: 428, 412)."""
    checklist_policy.check_author(current_user())
    check_if_match(found.revision)
    return found


# -- templates ----------------------------------------------------------------------------


@blp.route("/checklist-templates")
class Templates(MethodView):
    @requires(*OFFICE_READERS)
    @blp.arguments(TemplateFilter, location="query")
    @blp.response(200, page_of(TemplateSchema))
    def get(self, args):
        """检查表模板列表

        模板分页列表。A page of checklist templates.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(checklists.list_templates(**args), page, per_page)

    @requires(*OFFICE)
    @idempotent(
        "模板编码唯一：重发已成功的请求得到 409 urn:problem:checklist-code-taken / the code is "
        "unique: a resend gets 409."
    )
    @sends_etag
    @blp.arguments(TemplateSchema)
    @blp.response(201, TemplateSchema)
    def post(self, data):
        """新建检查表模板（同时建立第 1 版草稿）

        新建模板和它的第 1 版草稿。Creates a template and its first draft.
        """
        template = checklists.create_template(data, actor=current_user())
        return template, 201, {"ETag": etag_of(template.revision)}


@blp.route("/checklist-templates/import")
class TemplateImport(MethodView):
    @requires(*OFFICE)
    @idempotent(
        "模板编码唯一：重发已成功的导入得到 409 urn:problem:checklist-code-taken / a resend gets "
        "409."
    )
    @sends_etag
    @blp.arguments(ExportSchema)
    @blp.response(201, TemplateSchema)
    def post(self, document):
        """导入检查表（导出的 JSON 文档）：新建模板，内容成为第 1 版草稿

        新建模板，文档内容成为第 1 版草稿。Creates a template from an exported document.
        """
        template = transfer.import_document(request.get_json(), actor=current_user())
        return template, 201, {"ETag": etag_of(template.revision)}


@blp.route("/checklist-templates/import-file")
class TemplateImportFile(MethodView):
    @requires(*OFFICE)
    @idempotent(
        "模板编码唯一：重发已成功的导入得到 409 urn:problem:checklist-code-taken / a resend gets "
        "409."
    )
    @sends_etag
    @blp.arguments(ChecklistFileSchema, location="files")
    @blp.response(201, TemplateSchema)
    def post(self, files):
        """上传导出的检查表文件（.json 或 .yaml）导入：新建模板，内容成为第 1 版草稿

        同导入 JSON 文档，文件以 multipart 上传。Same as the JSON import, as a file.
        """
        upload = files["file"]
        document = transfer.parse_file(upload.filename or "", upload.read())
        template = transfer.import_document(document, actor=current_user())
        return template, 201, {"ETag": etag_of(template.revision)}


@blp.route("/checklist-templates/<int:template_id>")
class TemplateById(MethodView):
    @requires(*OFFICE_READERS)
    @sends_etag
    @blp.response(200, TemplateSchema)
    def get(self, template_id):
        """查看检查表模板

        一个模板（不含版本内容）。One template.
        """
        return _template_out(checklists.get_template(template_id, actor=current_user()))

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(TemplateUpdateSchema)
    @blp.response(200, TemplateSchema)
    @if_match
    def patch(self, data, template_id):
        """修改模板名称、说明和适用行业（需 If-Match）

        只改给出的字段。Changes the fields given.
        """
        template = _authored(checklists.get_template(template_id, actor=current_user()))
        return _template_out(checklists.update_template(template, data, actor=current_user()))

    @requires(*OFFICE)
    @blp.response(204)
    @if_match
    def delete(self, template_id):
        """删除从未发布过的检查表（需 If-Match；发布过的只能停用）

        删除模板及其全部草稿。Deletes the template and its drafts.
        """
        template = _authored(checklists.get_template(template_id, actor=current_user()))
        checklists.delete_template(template, actor=current_user())


@blp.route("/checklist-templates/<int:template_id>/versions")
class TemplateVersions(MethodView):
    @requires(*OFFICE_READERS)
    @blp.response(200, VersionSummarySchema(many=True))
    def get(self, template_id):
        """模板的全部版本（新的在前）

        版本摘要：编号、状态、内容哈希。The versions' summaries.
        """
        template = checklists.get_template(template_id, actor=current_user())
        return checklists.list_versions(template)

    @requires(*OFFICE)
    @idempotent(
        "一个模板同时只有一份草稿：重发得到 409 urn:problem:draft-exists / one draft at a time: a "
        "resend gets 409."
    )
    @sends_etag
    @blp.arguments(NewDraftSchema)
    @blp.response(201, VersionSchema)
    def post(self, data, template_id):
        """新建草稿版本：复制已有版本，或使用给出的内容（已有草稿时 409）

        新建下一版草稿。Creates the next draft version.
        """
        template = checklists.get_template(template_id, actor=current_user())
        source = None
        if "from_version_id" in data:
            source = checklists.get_version(data["from_version_id"], actor=current_user())
        content = request.get_json().get("content") if "content" in data else None
        version = checklists.create_draft(
            template, actor=current_user(), from_version=source, content=content
        )
        return _version_out(version, 201)


# -- versions -----------------------------------------------------------------------------


@blp.route("/checklist-versions/<int:version_id>")
class VersionById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, VersionSchema)
    def get(self, version_id):
        """查看检查表版本（含全部内容）；草稿仅督查办可见

        一个版本的全部分区与检查项。One version with its content.
        """
        return _version_out(checklists.get_version(version_id, actor=current_user()))

    @requires(*OFFICE)
    @blp.response(204)
    @if_match
    def delete(self, version_id):
        """放弃草稿版本（需 If-Match；已发布版本 409）

        删除这份草稿。Deletes the draft.
        """
        checklists.discard_draft(_editable(version_id), actor=current_user())


@blp.route("/checklist-versions/<int:version_id>/content")
class VersionContent(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(ContentSchema)
    @blp.response(200, VersionSchema)
    @if_match
    def put(self, data, version_id):
        """整体替换草稿内容（需 If-Match；已发布版本 409）

        以给出的内容替换草稿的全部分区和检查项。Replaces the draft's content.
        """
        version = _editable(version_id)
        return _version_out(
            drafts.replace_content(version, request.get_json(), actor=current_user())
        )


@blp.route("/checklist-versions/<int:version_id>/publish")
class VersionPublish(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.response(200, VersionSchema)
    @if_match
    def post(self, version_id):
        """发布草稿：校验全部内容并冻结内容哈希，原已发布版本自动停用（需 If-Match）

        草稿变为已发布（内容不再改变），原已发布版本停用；新开始的检查使用它。Publishes the draft.
        """
        version = _editable(version_id)
        return _version_out(checklists.publish(version, actor=current_user()))


@blp.route("/checklist-versions/<int:version_id>/retire")
class VersionRetire(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.response(200, VersionSchema)
    @if_match
    def post(self, version_id):
        """停用已发布版本（需 If-Match）；使用它的检查记录照常显示

        版本状态改为已停用；新检查不再使用它。Retires the version.
        """
        version = _authored(checklists.get_version(version_id, actor=current_user()))
        return _version_out(checklists.retire(version, actor=current_user()))


@blp.route("/checklist-versions/<int:version_id>/export")
class VersionExport(MethodView):
    @requires(*OFFICE_READERS)
    @blp.arguments(ExportArgs, location="query")
    @blp.response(200, ExportSchema)
    @blp.alt_response(
        200,
        schema=ExportSchema,
        content_type="application/yaml",
        description="可移植文档：JSON；format=yaml 时为同一文档的 YAML 文本",
    )
    def get(self, args, version_id):
        """导出为 JSON 或 YAML 文档（可再导入，内容与哈希完全一致）

        版本内容的可移植文档（format=json|yaml）。The version as a portable document.
        """
        version = checklists.get_version(version_id, actor=current_user())
        document = transfer.export_document(version)
        filename = f"{version.template.code}-v{version.number}.{args['format']}"
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if args["format"] == "yaml":
            return Response(
                transfer.dump_yaml(document),
                content_type="application/yaml; charset=utf-8",
                headers=disposition,
            )
        return document, 200, disposition


@blp.route("/checklist-versions/<int:version_id>/sections")
class Sections(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(SectionSchema)
    @blp.response(201, VersionSchema)
    @if_match
    def post(self, data, version_id):
        """在草稿中新增分区（需 If-Match）

        草稿新增一个分区。Adds a section to the draft.
        """
        version = _editable(version_id)
        return _version_out(drafts.add_section(version, data, actor=current_user()), 201)


@blp.route("/checklist-versions/<int:version_id>/sections/<section_code>")
class SectionByCode(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(SectionSchema)
    @blp.response(200, VersionSchema)
    @if_match
    def patch(self, data, version_id, section_code):
        """修改分区（标题、说明、扣分上限、位置；需 If-Match）

        只改给出的字段。Changes the fields given.
        """
        version = _editable(version_id)
        return _version_out(
            drafts.update_section(version, section_code, data, actor=current_user())
        )

    @requires(*OFFICE)
    @sends_etag
    @blp.response(200, VersionSchema)
    @if_match
    def delete(self, version_id, section_code):
        """删除分区及其检查项（需 If-Match）

        从草稿中删除分区和其中的检查项。Deletes the section and its items.
        """
        version = _editable(version_id)
        return _version_out(drafts.delete_section(version, section_code, actor=current_user()))


@blp.route("/checklist-versions/<int:version_id>/sections/<section_code>/items")
class Items(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(ItemSchema)
    @blp.response(201, VersionSchema)
    @if_match
    def post(self, data, version_id, section_code):
        """在分区中新增检查项（需 If-Match）

        草稿的分区新增一个检查项。Adds an item.
        """
        version = _editable(version_id)
        return _version_out(drafts.add_item(version, section_code, data, actor=current_user()), 201)


@blp.route("/checklist-versions/<int:version_id>/items/<item_code>")
class ItemByCode(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(ItemSchema)
    @blp.response(200, VersionSchema)
    @if_match
    def patch(self, data, version_id, item_code):
        """修改检查项（只改给出的字段；section/position 可移动；需 If-Match）

        只改给出的字段，可移到其他分区。Changes the fields given.
        """
        version = _editable(version_id)
        return _version_out(drafts.update_item(version, item_code, data, actor=current_user()))

    @requires(*OFFICE)
    @sends_etag
    @blp.response(200, VersionSchema)
    @if_match
    def delete(self, version_id, item_code):
        """删除检查项（需 If-Match）

        从草稿中删除检查项。Deletes the item.
        """
        version = _editable(version_id)
        return _version_out(drafts.delete_item(version, item_code, actor=current_user()))


# -- the form the mini program fills ------------------------------------------------------

LABELS = {
    "kind": fmt.KIND_LABELS,
    "photo": fmt.PHOTO_LABELS,
    "severity": fmt.SEVERITY_LABELS,
}


def _not_modified(tag: str) -> Response | None:
    """304 when the client already holds this tag. A published version never changes, so
    phones revalidate with a few bytes and the server does not even load the content."""
    if request.if_none_match.contains(tag):
        return Response(status=304, headers=_form_headers(tag))
    return None


def _form_headers(tag: str) -> dict[str, str]:
    return {"ETag": etag_of(tag), "Cache-Control": "private, no-cache"}


def _form(version: ChecklistVersion):
    """The version in one compact body; its ETag names the version and its content hash."""
    tag = f"{version.id}.{version.content_hash}"
    if (cached := _not_modified(tag)) is not None:
        return cached
    return form_body(version), 200, _form_headers(tag)


def form_body(version: ChecklistVersion) -> dict:
    """What a phone receives to fill: the compact content plus the Chinese labels. The
    console's preview (预览) renders this same body, so the office sees what inspectors get."""
    return {
        "version_id": version.id,
        "template_id": version.template_id,
        "number": version.number,
        "content_hash": version.content_hash,
        **fmt.compact(version.content),
        "labels": LABELS,
    }


@blp.route("/checklist-versions/<int:version_id>/form")
class VersionForm(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, FormSchema)
    @blp.alt_response(304, description="未变化（If-None-Match 与 ETag 相同）")
    def get(self, version_id):
        """小程序填报用的检查表（紧凑格式，可按 ETag 缓存）

        指定版本的填报表单；带 If-None-Match 且未变化时 304。The fill-in form of one version.
        """
        tag = checklists.version_tag(version_id, actor=current_user())
        if (cached := _not_modified(tag)) is not None:
            return cached
        return _form(checklists.get_version(version_id, actor=current_user()))


@blp.route("/units/<int:unit_id>/checklist")
class UnitChecklist(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, FormSchema)
    @blp.alt_response(304, description="未变化（If-None-Match 与 ETag 相同）")
    def get(self, unit_id):
        """该窗口单位适用的已发布检查表（紧凑格式，可按 ETag 缓存）

        单位所属行业当前已发布版本的填报表单；没有时 409 urn:problem:no-published-checklist。The
        published form for the unit.
        """
        unit = org.get_unit(unit_id, actor=current_user())
        return _form(checklists.published_version_for_unit(unit))
