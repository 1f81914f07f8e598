"""Bulk import of units from CSV or XLSX: all rows or none, every bad row named.

Offices keep their unit lists in Excel. The header row uses the Chinese column names below
(English field names are accepted too). Sectors, regions and lead units are referred to by
name or code, as a person would type them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import load_workbook
from sqlalchemy import select

from accounts.models import User
from core import audit, errors
from core.db import db
from core.geo import CoordSystem
from core.text import trim, visible_length
from org import hours, policy
from org.models import LeadUnit, Region, Sector, Unit

COLUMNS = {
    "名称": "name",
    "单位名称": "name",
    "地址": "address",
    "纬度": "latitude",
    "经度": "longitude",
    "坐标系": "coord_system",
    "行业领域": "sector",
    "所属区域": "region",
    "牵头单位": "lead_unit",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "办公时间": "service_hours",
}
REQUIRED = ("name", "sector", "region")
# What people write in the 坐标系 column (compared without case); empty means GCJ-02, the
# system of the Tencent and Amap pickers offices copy coordinates from.
COORD_SYSTEMS = {
    "wgs-84": CoordSystem.wgs84,
    "wgs84": CoordSystem.wgs84,
    "gps": CoordSystem.wgs84,
    "gcj-02": CoordSystem.gcj02,
    "gcj02": CoordSystem.gcj02,
    "火星坐标": CoordSystem.gcj02,
}
LENGTHS = {"name": 100, "address": 200, "contact_name": 40, "contact_phone": 30}
# What one import may hold. Reading stops at the first line past the limit, whatever the
# file declares (an XLSX's <dimension> can claim A1:XFD1048576 in a 1.5 KB file).
MAX_ROWS = 5000  # data lines, blank ones included, after the header
MAX_COLUMNS = 50
# An XLSX is a zip: its parts may unpack to at most this (a sheet of 5 000 rows is a few MB).
MAX_XLSX_UNPACKED = 20 * 1024 * 1024
_DOCTYPE = [b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be")]


@dataclass
class ImportReport:
    created: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def read_rows(filename: str, stream: IO[bytes]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; line 1 is the header, as a spreadsheet shows it."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _xlsx_rows(stream)
    elif name.endswith(".csv"):
        table = _csv_rows(stream.read())
    else:
        raise errors.UnsupportedMedia("仅支持 .csv 或 .xlsx 文件")
    if not table:
        raise errors.InvalidInput("文件是空的", errors={"file": ["没有表头行"]})
    header = [_column(cell) for cell in table[0]]
    unknown = [raw for raw, col in zip(table[0], header, strict=True) if raw and col is None]
    missing = [col for col in REQUIRED if col not in header]
    if unknown or missing:
        raise errors.InvalidInput(
            "表头不正确",
            errors={
                "header": [f"无法识别的列: {c}" for c in unknown]
                + [f"缺少必填列: {_label(c)}" for c in missing]
            },
        )
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if len(values) > MAX_COLUMNS and any(str(v or "").strip() for v in values[MAX_COLUMNS:]):
            raise _too_many_columns()
        if not any(str(v or "").strip() for v in values):
            continue
        row = {
            col: trim(str(v)) if v is not None else ""
            for col, v in zip(header, values, strict=False)
            if col
        }
        rows.append((number, row))
    return rows


def _too_many_rows() -> errors.DomainError:
    return errors.PayloadTooLarge(
        f"一次最多导入 {MAX_ROWS} 行（不含表头），请分批导入", type="urn:problem:import-too-large"
    )


def _too_many_columns() -> errors.DomainError:
    return errors.PayloadTooLarge(f"表格最多 {MAX_COLUMNS} 列", type="urn:problem:import-too-large")


def _bounded(lines) -> list[list[Any]]:
    """The first MAX_ROWS + 1 lines (header included), refusing the file if there are more;
    each line cut to MAX_COLUMNS + 1 cells (one more than allowed, so an excess is seen)."""
    table = []
    for values in lines:
        if len(table) > MAX_ROWS:
            raise _too_many_rows()
        table.append(list(values[: MAX_COLUMNS + 1]))
    return table


def _column(raw: Any) -> str | None:
    text = str(raw or "").strip()
    if text in COLUMNS:
        return COLUMNS[text]
    return text if text in COLUMNS.values() else None


def _label(column: str) -> str:
    return next(k for k, v in COLUMNS.items() if v == column)


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise errors.InvalidInput("文件编码无法识别，请另存为 UTF-8 CSV")
    reader = csv.reader(io.StringIO(text))
    try:
        return _bounded(reader)
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit() // 1024
            raise errors.InvalidInput(
                f"第 {line} 行有单元格超过 {limit} KB", errors={"file": [f"第 {line} 行"]}
            ) from None
        raise errors.InvalidInput(
            f"CSV 第 {line} 行无法读取", errors={"file": [str(exc)[:200]]}
        ) from None


def _xlsx_rows(stream: IO[bytes]) -> list[list[Any]]:
    _check_archive(stream)
    stream.seek(0)
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise errors.InvalidInput("无法读取 Excel 文件", errors={"file": [str(exc)[:200]]}) from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # what the file holds, not what it declares
        lines = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
        return _bounded(lines)
    except errors.DomainError:
        raise
    except Exception as exc:
        raise errors.InvalidInput("无法读取 Excel 文件", errors={"file": [str(exc)[:200]]}) from exc
    finally:
        book.close()


def _check_archive(stream: IO[bytes]) -> None:
    """Before any XML is parsed: the parts' unpacked size is bounded (zip bombs), and no
    part carries a DTD (entity expansion: Excel never writes one). Python's zipfile never
    unpacks more than a part's declared size, so the declared sizes are a real bound."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        raise errors.InvalidInput("无法读取 Excel 文件", errors={"file": [str(exc)[:200]]}) from exc
    with archive:
        parts = archive.infolist()
        if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED:
            raise errors.PayloadTooLarge(
                f"Excel 文件解压后超过 {MAX_XLSX_UNPACKED // (1024 * 1024)} MB，请分批导入",
                type="urn:problem:import-too-large",
            )
        for part in parts:
            if _has_doctype(archive, part):
                raise errors.InvalidInput(
                    "Excel 文件含有 DTD 声明，已拒绝；请用 Excel 或 WPS 重新保存后导入",
                    errors={"file": [part.filename[:100]]},
                    type="urn:problem:xlsx-dtd",
                )


def _has_doctype(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    """Looks for "<!DOCTYPE" in the encodings an XML parser accepts (ASCII-compatible ones
    and UTF-16), reading the part in chunks."""
    overlap = max(len(marker) for marker in _DOCTYPE) - 1
    tail = b""
    try:
        with archive.open(part) as member:
            while chunk := member.read(64 * 1024):
                window = tail + chunk
                if any(marker in window for marker in _DOCTYPE):
                    return True
                tail = window[-overlap:]
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise errors.InvalidInput("无法读取 Excel 文件", errors={"file": [str(exc)[:200]]}) from exc
    return False


class _Lookup:
    """Name-or-code lookups, loaded once per import instead of once per row."""

    def __init__(self, actor: User) -> None:
        self.sectors = {}
        for s in db.session.scalars(select(Sector)):
            self.sectors[s.name] = self.sectors[s.code] = s
        self.regions: dict[str, Region | None] = {}
        # A scoped office imports into its subtree only: other regions read as missing.
        for r in db.session.scalars(select(Region).where(policy.region_filter(actor))):
            self.regions[r.code] = r
            # A region name may repeat across districts; an ambiguous name is refused.
            self.regions[r.name] = None if r.name in self.regions else r
        self.leads = {lu.name: lu for lu in db.session.scalars(select(LeadUnit))}
        self.existing = {
            tuple(row) for row in db.session.execute(select(Unit.name, Unit.region_id))
        }


def import_units(rows: list[tuple[int, dict[str, str]]], *, actor: User) -> ImportReport:
    """Every row checked before any is stored: one bad row and nothing is imported, and
    each bad row is reported with its line, its name and each problem (with the column it
    is in under `cells`, for a table a person reads beside the spreadsheet)."""
    lookup = _Lookup(actor)
    report = ImportReport()
    seen: dict[tuple[str, int], int] = {}
    units = []
    for line, row in rows:
        reasons: list[tuple[str, str]] = []
        unit = _build(row, lookup, reasons)
        if unit is not None:
            key = (unit.name, unit.region_id)
            if key in lookup.existing:
                reasons.append(("名称", "该区域已存在同名窗口单位"))
            elif key in seen:
                reasons.append(("名称", f"与第 {seen[key]} 行重复"))
            seen.setdefault(key, line)
        if reasons:
            report.problems.append(
                {
                    "line": line,
                    "name": row.get("name", ""),
                    "reasons": [message for _, message in reasons],
                    "cells": [{"column": col, "message": message} for col, message in reasons],
                }
            )
        else:
            units.append(unit)
    if report.problems:
        raise errors.InvalidInput(
            f"有 {len(report.problems)} 行数据有误，未导入任何数据",
            errors={"rows": report.problems},
        )
    db.session.add_all(units)
    db.session.flush()
    report.created = len(units)
    audit.record("unit", 0, "import", actor_id=actor.id, after={"created": report.created})
    return report


def _build(row: dict[str, str], lookup: _Lookup, reasons: list[tuple[str, str]]) -> Unit | None:
    """The row as a unit, or None with (column label, problem) pairs added to `reasons`."""
    for col in REQUIRED:
        if not visible_length(row.get(col, "")):
            reasons.append((_label(col), f"{_label(col)}不能为空"))
    name = row.get("name", "")
    if 0 < visible_length(name) < 2:  # as the API's unit schema
        reasons.append((_label("name"), f"{_label('name')}至少 2 个字"))
    for col, limit in LENGTHS.items():
        if len(row.get(col, "")) > limit:
            reasons.append((_label(col), f"{_label(col)}超过 {limit} 字"))
    if any("\x00" in value for value in row.values()):
        reasons.append(("整行", "含有不允许的字符（NUL）"))
    sector = lookup.sectors.get(row.get("sector", ""))
    if row.get("sector") and sector is None:
        reasons.append(("行业领域", f"行业领域“{row['sector']}”不存在"))
    region = lookup.regions.get(row.get("region", ""))
    if row.get("region") and region is None:
        reasons.append(("所属区域", f"所属区域“{row['region']}”不存在或重名，请填写区域代码"))
    lead = None
    if row.get("lead_unit"):
        lead = lookup.leads.get(row["lead_unit"])
        if lead is None:
            reasons.append(("牵头单位", f"牵头单位“{row['lead_unit']}”不存在"))
        elif sector is not None and lead.sector_id != sector.id:
            reasons.append(("牵头单位", f"牵头单位“{row['lead_unit']}”不负责该行业领域"))
    coords = {}
    for col, bound in (("latitude", 90), ("longitude", 180)):
        raw = row.get(col, "")
        if not raw:
            coords[col] = None
            continue
        try:
            if not raw.isascii() or "_" in raw:  # float() reads "２３.５" and "1_16" too
                raise ValueError(raw)
            value = float(raw)
        except ValueError:
            reasons.append((_label(col), f"{_label(col)}“{raw}”不是数字"))
            continue
        if not -bound <= value <= bound:
            reasons.append((_label(col), f"{_label(col)}超出范围"))
        coords[col] = value
    if len(coords) == 2 and (coords["latitude"] is None) != (coords["longitude"] is None):
        reasons.append(("经纬度", "经度和纬度须同时填写（或同时留空）"))
    system = row.get("coord_system", "")
    coords["coord_system"] = COORD_SYSTEMS.get(system.lower(), CoordSystem.gcj02)
    if system and system.lower() not in COORD_SYSTEMS:
        reasons.append(
            ("坐标系", f"坐标系“{system}”无法识别，请填写 WGS-84、GPS、GCJ-02 或 火星坐标")
        )
    service_hours = None
    if row.get("service_hours"):
        try:
            service_hours = hours.parse_text(row["service_hours"])
        except errors.InvalidInput as exc:
            reasons.extend(("办公时间", f"办公时间：{p}") for p in exc.errors["service_hours"])
    if reasons:
        return None
    return Unit(
        service_hours=service_hours,
        name=name,
        address=row.get("address", ""),
        sector_id=sector.id,
        region_id=region.id,
        lead_unit_id=lead.id if lead else None,
        contact_name=row.get("contact_name", ""),
        contact_phone=row.get("contact_phone", ""),
        **coords,
    )
