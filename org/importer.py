"""Bulk import of units from CSV or XLSX: all rows or none, every bad row named.

Offices keep their unit lists in Excel. The header row uses the Chinese column names below
(English field names are accepted too). Sectors, regions and lead units are referred to by
name or code, as a person would type them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import load_workbook
from sqlalchemy import select

from accounts.models import User
from core import audit, errors
from core.db import db
from org.models import LeadUnit, Region, Sector, Unit

COLUMNS = {
    "名称": "name",
    "单位名称": "name",
    "地址": "address",
    "纬度": "latitude",
    "经度": "longitude",
    "行业领域": "sector",
    "所属区域": "region",
    "牵头单位": "lead_unit",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
}
REQUIRED = ("name", "sector", "region")
MAX_ROWS = 5000


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
        if not any(str(v or "").strip() for v in values):
            continue
        row = {
            col: str(v).strip() if v is not None else ""
            for col, v in zip(header, values, strict=False)
            if col
        }
        rows.append((number, row))
    if len(rows) > MAX_ROWS:
        raise errors.InvalidInput(f"一次最多导入 {MAX_ROWS} 行")
    return rows


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
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(stream: IO[bytes]) -> list[list[Any]]:
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise errors.InvalidInput("无法读取 Excel 文件", errors={"file": [str(exc)[:200]]}) from exc
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


class _Lookup:
    """Name-or-code lookups, loaded once per import instead of once per row."""

    def __init__(self) -> None:
        self.sectors = {}
        for s in db.session.scalars(select(Sector)):
            self.sectors[s.name] = self.sectors[s.code] = s
        self.regions: dict[str, Region | None] = {}
        for r in db.session.scalars(select(Region)):
            self.regions[r.code] = r
            # A region name may repeat across districts; an ambiguous name is refused.
            self.regions[r.name] = None if r.name in self.regions else r
        self.leads = {lu.name: lu for lu in db.session.scalars(select(LeadUnit))}
        self.existing = {
            tuple(row) for row in db.session.execute(select(Unit.name, Unit.region_id))
        }


def import_units(rows: list[tuple[int, dict[str, str]]], *, actor: User) -> ImportReport:
    lookup = _Lookup()
    report = ImportReport()
    seen: dict[tuple[str, int], int] = {}
    units = []
    for line, row in rows:
        reasons: list[str] = []
        unit = _build(row, lookup, reasons)
        if unit is not None:
            key = (unit.name, unit.region_id)
            if key in lookup.existing:
                reasons.append("该区域已存在同名窗口单位")
            elif key in seen:
                reasons.append(f"与第 {seen[key]} 行重复")
            seen.setdefault(key, line)
        if reasons:
            report.problems.append({"line": line, "name": row.get("name", ""), "reasons": reasons})
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


def _build(row: dict[str, str], lookup: _Lookup, reasons: list[str]) -> Unit | None:
    for col in REQUIRED:
        if not row.get(col):
            reasons.append(f"{_label(col)}不能为空")
    name = row.get("name", "")
    if len(name) > 100:
        reasons.append("名称超过 100 字")
    sector = lookup.sectors.get(row.get("sector", ""))
    if row.get("sector") and sector is None:
        reasons.append(f"行业领域“{row['sector']}”不存在")
    region = lookup.regions.get(row.get("region", ""))
    if row.get("region") and region is None:
        reasons.append(f"所属区域“{row['region']}”不存在或重名，请填写区域代码")
    lead = None
    if row.get("lead_unit"):
        lead = lookup.leads.get(row["lead_unit"])
        if lead is None:
            reasons.append(f"牵头单位“{row['lead_unit']}”不存在")
    coords = {}
    for col, bound in (("latitude", 90), ("longitude", 180)):
        raw = row.get(col, "")
        if not raw:
            coords[col] = None
            continue
        try:
            value = float(raw)
        except ValueError:
            reasons.append(f"{_label(col)}“{raw}”不是数字")
            continue
        if not -bound <= value <= bound:
            reasons.append(f"{_label(col)}超出范围")
        coords[col] = value
    if reasons:
        return None
    return Unit(
        name=name,
        address=row.get("address", ""),
        sector_id=sector.id,
        region_id=region.id,
        lead_unit_id=lead.id if lead else None,
        contact_name=row.get("contact_name", ""),
        contact_phone=row.get("contact_phone", ""),
        **coords,
    )
