"""Reports: the ledgers (台账) as Excel files, and the export jobs of large ones.

A ledger takes the query parameters of the list it comes from (the same names, checked
by the same schema) and answers with the rows that list would show this caller, in
Excel: 200 with the file when the rows are few, 202 with an export job when they are
many (the worker writes it; poll the job, then download its file)."""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from marshmallow import fields

from api.auth import EVERYONE, current_user, requires
from api.extensions import Blueprint
from api.inspections import InspectionFilter
from api.operation_docs import not_idempotent
from api.rectification import TaskFilter
from api.schemas import Id, Int, Schema, enum_field
from reports import downloads
from reports.models import EXPORT_STATUS_LABELS, ExportStatus
from reports.xlsx import XLSX

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1/reports", description="报表：检查台账、整改台账导出"
)

FILE_DOC = {
    "description": "Excel 文件（Content-Disposition 带中文文件名，RFC 5987 filename*）",
    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
}


class InspectionLedgerFilter(InspectionFilter):
    """The filters of GET /inspections, without paging."""

    class Meta:
        exclude = ("page", "per_page")


class TaskLedgerFilter(TaskFilter):
    """The filters of GET /rectification/tasks, without paging."""

    class Meta:
        exclude = ("page", "per_page")


class ExportJobSchema(Schema):
    id = Id()
    source = fields.String(
        metadata={
            "description": "导出的内容：台账 inspections、rectification，"
            "或文件 circular（通报）、inspection_report（检查报告）"
        }
    )
    filters = fields.Dict(attribute="params", metadata={"description": "导出时的筛选条件"})
    status = enum_field(ExportStatus, EXPORT_STATUS_LABELS)
    status_label = fields.Function(lambda job: EXPORT_STATUS_LABELS[job.status])
    rows = Int(metadata={"description": "行数（排队时为统计的行数，完成后为写入的行数）"})
    filename = fields.String()
    size = Int(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "文件保留到"})
    download_url = fields.Function(
        lambda job: (
            url_for("reports.ExportFile", export_id=job.id)
            if job.status == ExportStatus.done and job.key
            else None
        ),
        metadata={"description": "完成后下载文件的地址"},
    )


def _export(source: str, filters: dict):
    job, response = downloads.export_ledger(
        source,
        filters,
        actor=current_user(),
        base_url=downloads.base_url_for(request.host_url),
    )
    if response is not None:
        return response
    location = url_for("reports.ExportById", export_id=job.id)
    return ExportJobSchema().dump(job), 202, {"Location": location}


ACCEPTED = "行数超过即时导出上限：已排队由后台生成；轮询 Location 所指的导出任务"
LEDGER_RETRY = (
    "每次请求都记一个导出任务；202 时不要重发，轮询 Location（重发会再排一个导出）/ each call "
    "records an export job: after a 202 poll Location instead of resending."
)
LEDGER_CHANGES = (
    "记录一个导出任务（谁、何时、何筛选条件，记入审计）；行数超过 LEDGER_SYNC_MAX_ROWS 时排队"
    "由后台生成 / records an export job; a large ledger is queued for the worker."
)
LOCATION = {
    "Location": {
        "description": "导出任务的地址（GET 轮询其状态）/ the export job to poll",
        "schema": {"type": "string"},
        "required": True,
    }
}


@blp.route("/ledgers/inspections.xlsx")
class InspectionLedger(MethodView):
    @requires(*EVERYONE)
    @not_idempotent(LEDGER_RETRY, changes=LEDGER_CHANGES)
    @blp.arguments(InspectionLedgerFilter, location="query")
    @blp.response(200, description=FILE_DOC["description"], content_type=XLSX)
    @blp.alt_response(202, schema=ExportJobSchema, description=ACCEPTED, headers=LOCATION)
    def get(self, args):
        """检查台账（Excel）：筛选条件与检查记录列表相同，范围与列表相同

        行数不多时直接返回 .xlsx；否则 202 与导出任务。The .xlsx, or 202 and an export job.
        """
        return _export("inspections", args)


@blp.route("/ledgers/rectification.xlsx")
class RectificationLedger(MethodView):
    @requires(*EVERYONE)
    @not_idempotent(LEDGER_RETRY, changes=LEDGER_CHANGES)
    @blp.arguments(TaskLedgerFilter, location="query")
    @blp.response(200, description=FILE_DOC["description"], content_type=XLSX)
    @blp.alt_response(202, schema=ExportJobSchema, description=ACCEPTED, headers=LOCATION)
    def get(self, args):
        """整改台账（Excel）：筛选条件与整改任务列表相同，范围与列表相同

        行数不多时直接返回 .xlsx；否则 202 与导出任务。The .xlsx, or 202 and an export job.
        """
        return _export("rectification", args)


@blp.route("/exports/<int:export_id>")
class ExportById(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, ExportJobSchema)
    def get(self, export_id):
        """导出任务的状态（只能查看本人的导出）

        导出任务：状态、行数、完成后的下载地址。One export job.
        """
        return downloads.get_job(export_id, actor=current_user())


@blp.route("/exports/<int:export_id>/file")
class ExportFile(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, description=FILE_DOC["description"], content_type=XLSX)
    @blp.alt_response(409, description="尚未完成（urn:problem:export-not-ready）")
    def get(self, export_id):
        """下载已完成的导出文件（保留期内；过期为 404 urn:problem:export-expired）

        导出的 .xlsx 文件。The exported file.
        """
        return downloads.job_file(downloads.get_job(export_id, actor=current_user()))
