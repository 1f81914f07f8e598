"""One Chinese label per enum member, kept beside the enum.

Every `*_LABELS` mapping in a domain package whose keys are members of an enum must name
every member: a member added without its label fails here, not as a KeyError on a page or
in a document. The console keeps no label map of its own for an enum.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum

import pytest

import console
from accounts.models import Role
from checklists.models import VersionStatus
from inspections.models import (
    FindingStatus,
    InspectionStatus,
    PlanStatus,
    VisitKind,
    VisitStatus,
    VisitWindows,
)
from media.models import PHOTO_FLAG_LABELS, Photo
from org.models import RegionLevel
from rectification.models import ExtensionStatus, TaskStatus, Verdict
from rectification.states import Action
from reports.models import ExportStatus

DOMAIN_MODULES = (
    "accounts.models",
    "checklists.models",
    "core.geo",
    "inspections.models",
    "media.models",
    "org.models",
    "rectification.models",
    "rectification.states",
    "reports.models",
)
# Enums people read on a page, in a document or in an API's `*_label`: each has a map.
LABELLED = {
    Action,
    ExportStatus,
    ExtensionStatus,
    FindingStatus,
    InspectionStatus,
    PlanStatus,
    RegionLevel,
    Role,
    TaskStatus,
    Verdict,
    VersionStatus,
    VisitKind,
    VisitStatus,
    VisitWindows,
}


def _enum_maps(module) -> dict[str, tuple[type[Enum], dict]]:
    """The module's `*_LABELS` dicts keyed by enum members, with the keys' enum class."""
    found = {}
    for name, value in vars(module).items():
        if not name.endswith("_LABELS") or not isinstance(value, dict) or not value:
            continue
        kinds = {type(k) for k in value}
        if len(kinds) == 1 and issubclass(next(iter(kinds)), Enum):
            found[f"{module.__name__}.{name}"] = (next(iter(kinds)), value)
    return found


def _domain_maps() -> dict[str, tuple[type[Enum], dict]]:
    """Each map once, under the module that defines it (an import is the same object)."""
    maps, seen = {}, set()
    for name in DOMAIN_MODULES:
        for where, (cls, labels) in _enum_maps(importlib.import_module(name)).items():
            if id(labels) not in seen:
                seen.add(id(labels))
                maps[where] = (cls, labels)
    return maps


def test_every_labelled_enum_has_one_map_beside_it():
    by_enum: dict[type[Enum], list[str]] = {}
    for where, (cls, _) in _domain_maps().items():
        by_enum.setdefault(cls, []).append(where)
    assert set(by_enum) >= LABELLED, "enums without a label map"
    assert {cls: places for cls, places in by_enum.items() if len(places) > 1} == {}


@pytest.mark.parametrize("where", sorted(_domain_maps()))
def test_every_member_has_a_chinese_label(where):
    cls, labels = _domain_maps()[where]
    missing = [m.value for m in cls if m not in labels]
    assert missing == [], f"{where} has no label for {missing}"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels.values()), (
        f"{where} has a label without Chinese"
    )


def test_every_photo_flag_column_has_a_label():
    columns = {
        c.key.removeprefix("flag_") for c in Photo.__table__.columns if c.key.startswith("flag_")
    }
    assert columns == set(PHOTO_FLAG_LABELS)


def test_the_console_keeps_no_label_map_for_an_enum():
    """The console may import the domain's maps; a map of its own would drift from them."""
    domain = {id(labels) for _, labels in _domain_maps().values()}
    own = {}
    for info in pkgutil.iter_modules(console.__path__):
        maps = _enum_maps(importlib.import_module(f"console.{info.name}"))
        own.update({k: v for k, v in maps.items() if id(v[1]) not in domain})
    assert own == {}
