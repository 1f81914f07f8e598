"""Regions, sectors, lead units and window units."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from accounts.models import Role
from api.auth import EVERYONE, OFFICE, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent
from api.pagination import paginate
from api.schemas import (
    Float,
    Id,
    Integer,
    PageArgs,
    Pattern,
    QueryId,
    Schema,
    Text,
    enum_field,
    page_of,
    partial_of,
)
from core.geo import COORD_SYSTEM_LABELS, CoordSystem
from org import hours, importer
from org import policy as org_policy
from org import service as org
from org.models import REGION_LEVEL_LABELS, LeadUnit, Region, RegionLevel, Sector

blp = Blueprint(
    "org",
    __name__,
    url_prefix="/api/v1",
    description="组织机构：区域、行业领域、牵头单位、窗口单位",
)


def Name(max_length: int) -> fields.String:
    return Text(required=True, max_length=max_length)


# -- schemas ------------------------------------------------------------------------------


class RegionSchema(Schema):
    id = Id(dump_only=True)
    code = fields.String(required=True, validate=Pattern(r"^[0-9]{6,12}$"))
    name = Name(60)
    level = enum_field(RegionLevel, REGION_LEVEL_LABELS, required=True)
    parent_id = Id(allow_none=True)
    version = Integer(dump_only=True)


RegionUpdateSchema = partial_of(RegionSchema)


class RegionFilter(PageArgs):
    parent_id = QueryId()
    level = enum_field(RegionLevel, REGION_LEVEL_LABELS)


class SectorSchema(Schema):
    id = Id(dump_only=True)
    code = fields.String(required=True, validate=Pattern(r"^[a-z0-9_]{2,32}$"))
    name = Name(40)
    version = Integer(dump_only=True)


SectorUpdateSchema = partial_of(SectorSchema)


class LeadUnitSchema(Schema):
    id = Id(dump_only=True)
    name = Name(80)
    sector_id = Id(required=True)
    version = Integer(dump_only=True)


LeadUnitUpdateSchema = partial_of(LeadUnitSchema)


class UnitSchema(Schema):
    id = Id(dump_only=True)
    name = Text(required=True, min_length=2, max_length=100)
    address = Text(min_length=0, max_length=200)
    latitude = Float(allow_none=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = Float(allow_none=True, allow_nan=False, validate=validate.Range(-180, 180))
    coord_system = enum_field(
        CoordSystem,
        COORD_SYSTEM_LABELS,
        metadata={
            "description": "纬度、经度的坐标系：gcj02（默认，腾讯/高德地图拾取的坐标）"
            "或 wgs84（GPS 原始坐标）"
        },
    )
    sector_id = Id(required=True)
    region_id = Id(required=True)
    lead_unit_id = Id(allow_none=True)
    contact_name = Text(min_length=0, max_length=40)
    contact_phone = fields.String(validate=validate.Length(max=30))
    service_hours = fields.Dict(
        keys=enum_field(hours.DAYS),
        values=fields.List(fields.List(fields.String(), validate=validate.Length(equal=2))),
        allow_none=True,
        metadata={
            "description": '办公时间（北京时间）：按星期 mon…sun 给出时段 ["HH:MM", "HH:MM"]，'
            "未列出的星期不办公；null 为默认的周一至周五 08:30-12:00、14:00-17:30",
            "example": {d: [["08:30", "12:00"], ["14:00", "17:30"]] for d in hours.DAYS[:5]},
        },
    )
    service_hours_text = fields.Function(
        lambda unit: hours.as_text(unit.service_hours),
        dump_only=True,
        metadata={"description": "实际采用的办公时间，如“周一至周五 08:30-12:00、14:00-17:30”"},
    )
    active = fields.Boolean()
    sector_name = fields.String(attribute="sector.name", dump_only=True)
    region_name = fields.String(attribute="region.name", dump_only=True)
    lead_unit_name = fields.String(attribute="lead_unit.name", dump_only=True, allow_none=True)
    version = Integer(dump_only=True)


UnitUpdateSchema = partial_of(UnitSchema)


class UnitFilter(PageArgs):
    sector_id = QueryId()
    region_id = QueryId()
    lead_unit_id = QueryId()
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(max=50))


class ImportFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportResultSchema(Schema):
    created = Integer()


# -- regions, sectors, lead units --------------------------------------------------------


def _with_etag(row, status: int = 200):
    return row, status, {"ETag": etag_of(row.version)}


def _reference_to_change(model, ident: int):
    """A region, sector or lead unit to change: 404, then 403 for an office that does not
    keep reference data, then 428/412 (permission before the version)."""
    row = org.get_or_404(model, ident)
    org_policy.check_maintains_reference_data(current_user())
    check_if_match(row.version)
    return row


@blp.route("/regions")
class Regions(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(RegionFilter, location="query")
    @blp.response(200, page_of(RegionSchema))
    def get(self, args):
        """区域列表（市 → 县区 → 乡镇街道 → 村社区）

        按上级、层级筛选的区域分页列表。A page of regions.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(org.list_regions(**args), page, per_page)

    @requires(*OFFICE)
    @idempotent(
        "区域编码唯一：重发已成功的请求得到 409 urn:problem:already-exists / the code is unique: a"
        " resend gets 409."
    )
    @sends_etag
    @blp.arguments(RegionSchema)
    @blp.response(201, RegionSchema)
    def post(self, data):
        """新建区域

        在上级区域下新建一个区域。Creates one region.
        """
        return _with_etag(org.save_region(data, actor=current_user()), 201)


@blp.route("/regions/<int:region_id>")
class RegionById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, RegionSchema)
    def get(self, region_id):
        """查看区域

        一个区域。One region.
        """
        return _with_etag(org.get_or_404(Region, region_id))

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(RegionUpdateSchema)
    @blp.response(200, RegionSchema)
    @if_match
    def patch(self, data, region_id):
        """修改区域（需 If-Match；改上级区域会带走其下全部窗口单位）

        只改给出的字段，版本号加一。Changes the fields given.
        """
        region = _reference_to_change(Region, region_id)
        return _with_etag(org.save_region(data, actor=current_user(), region=region))


@blp.route("/sectors")
class Sectors(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, SectorSchema(many=True))
    def get(self):
        """行业领域列表

        全部行业领域。Every sector.
        """
        return org.list_sectors()

    @requires(*OFFICE)
    @idempotent(
        "编码与名称唯一：重发已成功的请求得到 409 urn:problem:already-exists / code and name are "
        "unique: a resend gets 409."
    )
    @sends_etag
    @blp.arguments(SectorSchema)
    @blp.response(201, SectorSchema)
    def post(self, data):
        """新建行业领域

        新建一个行业领域。Creates one sector.
        """
        return _with_etag(org.save_sector(data, actor=current_user()), 201)


@blp.route("/sectors/<int:sector_id>")
class SectorById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, SectorSchema)
    def get(self, sector_id):
        """查看行业领域

        一个行业领域。One sector.
        """
        return _with_etag(org.get_or_404(Sector, sector_id))

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(SectorUpdateSchema)
    @blp.response(200, SectorSchema)
    @if_match
    def patch(self, data, sector_id):
        """修改行业领域（需 If-Match）

        只改给出的字段，版本号加一。Changes the fields given.
        """
        sector = _reference_to_change(Sector, sector_id)
        return _with_etag(org.save_sector(data, actor=current_user(), sector=sector))


@blp.route("/lead-units")
class LeadUnits(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, LeadUnitSchema(many=True))
    def get(self):
        """牵头单位列表

        全部牵头单位。Every lead unit.
        """
        return org.list_lead_units()

    @requires(*OFFICE)
    @idempotent(
        "名称唯一：重发已成功的请求得到 409 urn:problem:already-exists / the name is unique: a "
        "resend gets 409."
    )
    @sends_etag
    @blp.arguments(LeadUnitSchema)
    @blp.response(201, LeadUnitSchema)
    def post(self, data):
        """新建牵头单位

        新建一个牵头单位（负责一个行业领域）。Creates one lead unit.
        """
        return _with_etag(org.save_lead_unit(data, actor=current_user()), 201)


@blp.route("/lead-units/<int:lead_unit_id>")
class LeadUnitById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, LeadUnitSchema)
    def get(self, lead_unit_id):
        """查看牵头单位

        一个牵头单位。One lead unit.
        """
        return _with_etag(org.get_or_404(LeadUnit, lead_unit_id))

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(LeadUnitUpdateSchema)
    @blp.response(200, LeadUnitSchema)
    @if_match
    def patch(self, data, lead_unit_id):
        """修改牵头单位（需 If-Match）

        只改给出的字段，版本号加一。Changes the fields given.
        """
        lead_unit = _reference_to_change(LeadUnit, lead_unit_id)
        return _with_etag(org.save_lead_unit(data, actor=current_user(), lead_unit=lead_unit))


# -- units --------------------------------------------------------------------------------


@blp.route("/units")
class Units(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(UnitFilter, location="query")
    @blp.response(200, page_of(UnitSchema))
    def get(self, args):
        """窗口单位列表（按角色限定范围：窗口单位只能看到自己）

        调用者可见范围内的窗口单位分页列表。A page of the units the caller may see.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(org.units_query(current_user(), args), page, per_page)

    @requires(*OFFICE)
    @idempotent(
        "同一区域内名称唯一：重发已成功的请求得到 409 urn:problem:unit-name-taken / unique name "
        "per region: a resend gets 409."
    )
    @sends_etag
    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, data):
        """新建窗口单位

        新建一个窗口单位（行业领域、区域、地址、坐标、办公时间）。Creates one unit.
        """
        unit = org.create_unit(data, actor=current_user())
        return unit, 201, {"ETag": etag_of(unit.version)}


@blp.route("/units/<int:unit_id>")
class UnitById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, UnitSchema)
    def get(self, unit_id):
        """查看窗口单位

        一个窗口单位（含坐标与办公时间）。One unit, with its location and hours.
        """
        unit = org.get_unit(unit_id, actor=current_user())
        return unit, 200, {"ETag": etag_of(unit.version)}

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(UnitUpdateSchema)
    @blp.response(200, UnitSchema)
    @if_match
    def patch(self, data, unit_id):
        """修改窗口单位（需 If-Match）

        只改给出的字段，版本号加一。Changes the fields given.
        """
        unit = org.get_unit(unit_id, actor=current_user())
        check_if_match(unit.version)
        unit = org.update_unit(unit, data, actor=current_user())
        return unit, 200, {"ETag": etag_of(unit.version)}


@blp.route("/units/import")
class UnitImport(MethodView):
    @requires(Role.office_admin)
    @idempotent(
        "已导入的单位再导入会被逐行指出重名，整批不导入：重发不会重复建单位 / units already "
        "imported are refused row by row, so a resend creates nothing twice."
    )
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, ImportResultSchema)
    def post(self, files):
        """批量导入窗口单位（CSV 或 XLSX；任一行有误则全部不导入，并列出每一行的问题）

        全部行有效时一次新建全部单位，否则什么也不建。Creates every row's unit, or none.
        """
        upload = files["file"]
        rows = importer.read_rows(upload.filename or "", upload.stream)
        return importer.import_units(rows, actor=current_user())
