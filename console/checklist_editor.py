"""The checklist builder (检查表编辑): draft a new version from a published one, edit its
sections and items, reorder them, preview the draft as inspectors receive it, publish.

Nothing here knows a checklist rule. A form becomes the dict the API's schema loads
(`SectionSchema` / `ItemSchema`), the edit goes through `checklists.drafts` (which validates
the whole content, as for the API), and publishing through `checklists.service.publish`.
Every form carries the draft's `revision` (the API's ETag) as `version`: a page shown
before someone else's edit is refused (409) and the form comes back as it was typed.
A refused form is rendered again in place (never through the session cookie, which could
not hold 2 000 characters of guidance), each message beside its field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from api.auth import OFFICE, OFFICE_READERS, requires
from api.checklist_schemas import ItemSchema, SectionSchema
from api.checklists import form_body
from checklists import content as fmt
from checklists import drafts, policy
from checklists import service as checklists
from checklists.models import STATUS_LABELS, ChecklistVersion
from console.common import act, check_version
from console.views import bp
from core import errors
from core.db import db

STALE = "该草稿已被他人修改，请刷新后再改（本次修改未保存）"
REFUSED = "内容有误，请按提示修改（本次修改未保存）"

LABELS = {
    "kind": fmt.KIND_LABELS,
    "photo": fmt.PHOTO_LABELS,
    "severity": fmt.SEVERITY_LABELS,
    "status": STATUS_LABELS,
}
# The fields the forms show, as they label them; a complaint about any other field (a
# kind's own, e.g. a choice's options) is listed above the form under these labels.
ITEM_FIELDS = {
    "code": "编码",
    "title": "检查内容",
    "guidance": "检查方法与说明",
    "kind": "题型",
    "points": "分值",
    "severity": "问题等级",
    "photo": "拍照要求",
    "deadline_days": "整改期限",
    "critical": "一票否决",
    "fix_on_spot": "可立行立改",
    "required": "必答",
    "allow_na": "可选“不适用”",
    "source": "依据",
    "section": "所在分区",
}
# Each kind's own settings (`fmt.KIND_FIELDS`) as the form labels them; the form names a
# setting `<kind>-<field>` (a score's `max` and a number's `max` are different boxes).
SETTING_LABELS = {
    "max": "满分 / 最大值",
    "pass_score": "合格分",
    "unit": "单位",
    "min": "最小值",
    "integer": "只能填整数",
    "pass_min": "合格下限",
    "pass_max": "合格上限",
    "total_label": "总数名称",
    "pass_ratio": "合格比例（0–1）",
    "max_length": "最多字数",
    "options": "选项",
}
TEXT_SETTINGS = ("unit", "total_label")
FLAG_SETTINGS = ("integer",)
# Blank option rows the form offers below the item's options (more after each save).
SPARE_OPTIONS = 3
SECTION_FIELDS = {"code": "编码", "title": "分区名称", "description": "说明", "cap": "最多扣分"}
# The item form shows the chosen kind's settings too: their complaints stand beside them.
ITEM_SHOWN = ITEM_FIELDS | {k: v for k, v in SETTING_LABELS.items() if k != "options"}
OTHER_LABELS = SETTING_LABELS | {
    "items": "检查项",
    "sections": "分区",
}
_PATH = re.compile(r"^sections\[\d+\](?:\.items\[\d+\])?\.?")
_NUMBER = re.compile(r"-?[0-9]{1,9}(\.[0-9]{1,6})?")


# -- reading the forms ---------------------------------------------------------------------


def _text(name: str) -> str:
    """A text field as typed (trimmed); the content validator judges its length."""
    return request.form.get(name, "").strip()[:5000]


def _flag(name: str) -> bool:
    return request.form.get(name) == "1"


def _number(name: str) -> Any:
    """A number field: None when blank, the number when it is one, else the text itself,
    so the content validator refuses it in its own words (应为数字)."""
    raw = request.form.get(name, "").strip()[:40]
    if not raw:
        return None
    if _NUMBER.fullmatch(raw):
        value = float(raw)
        return int(value) if value.is_integer() and "." not in raw else value
    if not (raw.isascii() and "_" not in raw):  # float() reads "１２" and "1_0" too
        return raw
    try:
        value = float(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def _load(schema, data: dict[str, Any]) -> dict[str, Any]:
    """Through the API's own schema: the same fields, the same complaints."""
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise errors.InvalidInput(REFUSED, errors=exc.messages) from exc


def _option_count() -> int:
    """How many option rows the form had (bounded: the rows are numbered 0…)."""
    count = _number("option_count")
    if not isinstance(count, int):
        return 0
    return max(0, min(count, fmt.MAX_OPTIONS + SPARE_OPTIONS))


def _options_from_form() -> list[dict[str, Any]]:
    """The option rows as typed: a row without a name is dropped (that is how an option is
    removed); a new row gets a value nobody in the item uses (values are for machines)."""
    rows = []
    for n in range(_option_count()):
        label = _text(f"option-{n}-label")[:200]
        if label:
            value = request.form.get(f"option-{n}-value", "").strip()[:40]
            rows.append({"value": value, "label": label, "fail": _flag(f"option-{n}-fail")})
    taken = {row["value"] for row in rows}
    for row in rows:
        if not row["value"]:
            row["value"] = _free_code("o", taken, 1)
            taken.add(row["value"])
    return rows


def _settings_from_form(kind: str) -> dict[str, Any]:
    """The chosen kind's own settings, when the form showed them (`settings` marks it):
    a blank box is None, which the content's format reads as its default."""
    if request.form.get("settings") != "1" or kind not in fmt.KIND_FIELDS:
        return {}
    data: dict[str, Any] = {}
    for field in fmt.KIND_FIELDS[kind]:
        name = f"{kind}-{field}"
        if field == "options":
            data["options"] = _options_from_form()
        elif field in FLAG_SETTINGS:
            data[field] = _flag(name)
        elif field in TEXT_SETTINGS:
            data[field] = _text(name)[:200] or None
        else:
            data[field] = _number(name)
    if "unit" in data and data["unit"] is None:
        data["unit"] = ""
    return data


def _item_from_form(*, new: bool, current_section: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": _text("title"),
        "guidance": _text("guidance"),
        "kind": request.form.get("kind", ""),
        "severity": request.form.get("severity", ""),
        "photo": request.form.get("photo", ""),
        "critical": request.form.get("critical") == "1",
        "fix_on_spot": request.form.get("fix_on_spot") == "1",
    }
    points = _number("points")
    data["points"] = 0 if points is None else points
    deadline = _number("deadline_days")
    if deadline is None:  # blank: the severity's default, as the format fills it in
        deadline = fmt.DEFAULT_DEADLINE_DAYS.get(data["severity"])
    if deadline is not None:
        data["deadline_days"] = deadline
    if request.form.get("settings") == "1":  # the form showed these: a box left empty is off
        data["required"] = _flag("required")
        data["allow_na"] = _flag("allow_na")
        data["source"] = _text("source")
    settings = _settings_from_form(data["kind"])
    data.update({key: value for key, value in settings.items() if value is not None})
    if new and _text("code"):
        data["code"] = _text("code")
    section = request.form.get("section", "")
    if not new and section and section != current_section:
        data["section"] = section
    # A box left blank clears the setting (the format's default); the schema takes no
    # nulls, so they join after it, for the content's validation to judge with the rest.
    cleared = {key: None for key, value in settings.items() if value is None}
    return _load(ItemSchema, data) | cleared


def _section_from_form(*, new: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": _text("title"),
        "description": _text("description"),
        "cap": _number("cap"),
    }
    if new and _text("code"):
        data["code"] = _text("code")
    return _load(SectionSchema, data)


def _free_code(stem: str, taken: set[str], start: int) -> str:
    """A code nobody uses yet: `dress.3` for a third item of `dress`, `s3` for a third
    section (codes are for machines; people cite items by number)."""
    for n in range(start, start + 1000):
        code = f"{stem}{n}"
        if len(code) > 40:
            code = f"i{n}"
        if code not in taken:
            return code
    raise errors.InvalidInput(errors={"code": ["请填写编码"]})


def by_field(problems: dict, shown: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """The validator's errors by path (`sections[2].items[5].points`) as {form field:
    messages}, and the rest as lines naming their field in Chinese."""
    fields: dict[str, list[str]] = {}
    rest: list[str] = []
    for path, messages in problems.items():
        if isinstance(messages, dict):  # marshmallow's nested errors
            messages = [m for ms in messages.values() for m in ms]
        key = _PATH.sub("", str(path))
        name = re.split(r"[.\[]", key)[0]
        if name in shown and key == name:
            fields.setdefault(name, []).extend(str(m) for m in messages)
        else:
            label = shown.get(name) or OTHER_LABELS.get(name) or ""
            rest += [f"{label}：{m}" if label else str(m) for m in messages]
    return fields, rest


# -- finding the draft ---------------------------------------------------------------------


def _authored(version_id: int) -> ChecklistVersion:
    """A version the office may author: 404 when missing, 403 for a regional office."""
    version = checklists.get_version(version_id, actor=g.user)
    policy.check_author(g.user)
    return version


def _draft(version_id: int) -> ChecklistVersion:
    version = _authored(version_id)
    checklists.require_draft(version)  # 409: published versions never change
    return version


def _editor_url(version: ChecklistVersion, anchor: str | None = None) -> str:
    return url_for("console.checklist_draft", version_id=version.id, _anchor=anchor)


def _section(version: ChecklistVersion, code: str) -> tuple[int, dict[str, Any]]:
    for index, section in enumerate(version.content["sections"]):
        if section["code"] == code:
            return index, section
    raise errors.NotFound("未找到该分区")


def _item(version: ChecklistVersion, code: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    for section in version.content["sections"]:
        for index, item in enumerate(section["items"]):
            if item["code"] == code:
                return section, item, index
    raise errors.NotFound("未找到该检查项")


def _edit(version: ChecklistVersion, change: Callable[[], Any]) -> None:
    """One edit of the draft the page showed: refused when someone changed it since (the
    form's `version`, or a race the row's own revision catches at the write)."""
    check_version(version.revision, message=STALE)
    try:
        change()
    except errors.PreconditionFailed as exc:
        raise errors.Conflict(STALE, type="urn:problem:concurrent-change") from exc


# -- pages ---------------------------------------------------------------------------------


@bp.post("/checklists/<int:template_id>/drafts")
@requires(*OFFICE)
def checklist_new_draft(template_id: int):
    """新建草稿版本: a copy of the published version (or of the latest, if none is)."""
    template = checklists.get_template(template_id, actor=g.user)
    policy.check_author(g.user)
    made: list[ChecklistVersion] = []

    def change():
        source = checklists.published_version_of(template)
        made.append(checklists.create_draft(template, actor=g.user, from_version=source))

    response = act(change, done="", back=url_for("console.checklist_templates"))
    if not made:
        return response
    flash(f"已新建第 {made[0].number} 版草稿（复制自当前版本），修改后发布才会生效", "info")
    return redirect(_editor_url(made[0]), code=303)


@bp.get("/checklists/versions/<int:version_id>/edit")
@requires(*OFFICE)
def checklist_draft(version_id: int):
    version = _draft(version_id)
    return render_template(
        "console/checklist_draft.html",
        version=version,
        content=version.content,
        labels=LABELS,
        only_version=len(checklists.list_versions(version.template)) == 1,
    )


@bp.get("/checklists/versions/<int:version_id>/preview")
@requires(*OFFICE_READERS)
def checklist_preview(version_id: int):
    """The version as the mini program receives it (the API's /form body) and shows it."""
    version = checklists.get_version(version_id, actor=g.user)
    body = form_body(version)
    return render_template(
        "console/checklist_preview.html",
        version=version,
        form=body,
        raw=json.dumps(body, ensure_ascii=False, indent=2),
        may_edit=version.is_draft and policy.can_author(g.user),
        status_labels=STATUS_LABELS,
    )


@bp.post("/checklists/versions/<int:version_id>/publish")
@requires(*OFFICE)
def checklist_publish(version_id: int):
    version = _draft(version_id)

    def change():
        _edit(version, lambda: checklists.publish(version, actor=g.user))

    response = act(change, done="", back=_editor_url(version))
    if version.is_draft:
        return response
    flash(f"第 {version.number} 版已发布，原已发布版本已停用；此后的检查使用新版本", "info")
    return redirect(url_for("console.checklist_version", version_id=version.id), code=303)


@bp.post("/checklists/versions/<int:version_id>/discard")
@requires(*OFFICE)
def checklist_discard(version_id: int):
    """放弃草稿: the draft and its edits go (checklists.service.discard_draft, as the API's
    DELETE); refused when someone edited it since the page was shown."""
    version = _draft(version_id)
    number, back = version.number, _editor_url(version, "discard")

    def change():
        if request.form.get("confirm") != "1":
            raise errors.InvalidInput(errors={"confirm": ["请勾选“确认放弃本草稿”"]})
        _edit(version, lambda: checklists.discard_draft(version, actor=g.user))

    done = f"已放弃第 {number} 版草稿，检查表仍使用原有版本"
    listing = url_for("console.checklist_templates")
    return act(change, done=done, back=listing, form="discard", refused_back=back)


# -- sections ------------------------------------------------------------------------------


def _section_form(version, section=None, *, problems=None, rest=(), message="", status=200):
    values = request.form if request.method == "POST" else (section or {})
    return render_template(
        "console/checklist_section_form.html",
        version=version,
        section=section,
        values=values,
        problems=problems or {},
        rest=rest,
        message=message,
        shown_version=request.form.get("version", version.revision),
    ), status


def _refused(exc: errors.DomainError, shown: dict[str, str], render) -> Any:
    """Render the refused form again, as typed, with each complaint beside its field."""
    db.session.rollback()
    problems, rest = by_field(getattr(exc, "errors", None) or {}, shown)
    if isinstance(exc, errors.Conflict):
        return render(problems=problems, rest=rest, message=exc.message, status=409)
    return render(problems=problems, rest=rest, message=REFUSED, status=422)


@bp.get("/checklists/versions/<int:version_id>/new-section")
@requires(*OFFICE)
def checklist_section_new(version_id: int):
    return _section_form(_draft(version_id))


@bp.post("/checklists/versions/<int:version_id>/sections")
@requires(*OFFICE)
def checklist_section_add(version_id: int):
    version = _draft(version_id)
    codes: list[str] = []

    def change():
        data = _section_from_form(new=True)
        sections = version.content["sections"]
        taken = {s["code"] for s in sections}
        data.setdefault("code", _free_code("s", taken, len(sections) + 1))
        drafts.add_section(version, data, actor=g.user)
        codes.append(data["code"])

    try:
        _edit(version, change)
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, SECTION_FIELDS, lambda **kw: _section_form(version, **kw))
    flash("已新增分区", "info")
    return redirect(_editor_url(version, f"section-{codes[0]}"), code=303)


@bp.get("/checklists/versions/<int:version_id>/sections/<section_code>")
@requires(*OFFICE)
def checklist_section(version_id: int, section_code: str):
    version = _draft(version_id)
    return _section_form(version, _section(version, section_code)[1])


def _move_or_delete(version, index: int, *, move, delete, anchor, deleted, after_delete):
    """The list's ↑/↓ and 删除 for a section or an item (`op` of the form); None for a
    save. `move(data)` and `delete()` are the drafts service's calls; the editor opens
    again at `anchor` after a move, at `after_delete` after a deletion."""
    op = request.form.get("op", "save")
    moves = {"up": index - 1, "down": index + 1}
    if op in moves:
        position = {"position": max(0, moves[op])}
        return act(
            lambda: _edit(version, lambda: move(position)),
            done="",
            back=_editor_url(version, anchor),
        )
    if op == "delete":
        return act(
            lambda: _edit(version, delete),
            done=deleted,
            back=_editor_url(version, after_delete),
        )
    return None


@bp.post("/checklists/versions/<int:version_id>/sections/<section_code>")
@requires(*OFFICE)
def checklist_section_change(version_id: int, section_code: str):
    """Save the section's form, or (op) move it up or down, or delete it with its items."""
    version = _draft(version_id)
    index, section = _section(version, section_code)
    listed = _move_or_delete(
        version,
        index,
        move=lambda data: drafts.update_section(version, section_code, data, actor=g.user),
        delete=lambda: drafts.delete_section(version, section_code, actor=g.user),
        anchor=f"section-{section_code}",
        deleted=f"已删除分区“{section['title']}”及其检查项",
        after_delete=None,
    )
    if listed is not None:
        return listed
    try:
        _edit(
            version,
            lambda: drafts.update_section(
                version, section_code, _section_from_form(new=False), actor=g.user
            ),
        )
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, SECTION_FIELDS, lambda **kw: _section_form(version, section, **kw))
    flash("分区已保存", "info")
    return redirect(_editor_url(version, f"section-{section_code}"), code=303)


# -- items ---------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A stored setting as its box shows it (blank for none; 5 for 5.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _setting_shown(name: str, field: str, own: dict[str, Any], posted: bool) -> Any:
    if field in FLAG_SETTINGS:  # the format's default: whole numbers only
        return _flag(name) if posted else bool(own.get(field, True))
    return request.form.get(name, "") if posted else _shown(own.get(field))


def _settings_view(item: dict[str, Any] | None) -> tuple[dict[str, dict[str, Any]], list]:
    """Every kind's settings boxes, filled from the item (its own kind's) or, for a
    refused form, as typed; and the option rows (the item's, then blank ones)."""
    posted = request.method == "POST"
    settings: dict[str, dict[str, Any]] = {}
    for kind, fields in fmt.KIND_FIELDS.items():
        own = item if item and item.get("kind") == kind else {}
        settings[kind] = {
            field: _setting_shown(f"{kind}-{field}", field, own, posted)
            for field in fields
            if field != "options"
        }
    if posted:
        options = [
            {
                "value": request.form.get(f"option-{n}-value", ""),
                "label": request.form.get(f"option-{n}-label", ""),
                "fail": _flag(f"option-{n}-fail"),
            }
            for n in range(_option_count())
        ]
    else:
        options = [dict(o) for o in (item or {}).get("options") or ()]
        options += [{"value": "", "label": "", "fail": False}] * SPARE_OPTIONS
    return settings, options[: fmt.MAX_OPTIONS + SPARE_OPTIONS]


def _item_form(version, section, item=None, *, problems=None, rest=(), message="", status=200):
    defaults = {
        "kind": "pass_fail",
        "severity": "general",
        "photo": "on_fail",
        "points": 1,
        "required": True,
        "allow_na": True,
    }
    values = request.form if request.method == "POST" else (item or defaults)
    settings, options = _settings_view(item)
    return render_template(
        "console/checklist_item_form.html",
        version=version,
        section=section,
        item=item,
        values=values,
        problems=problems or {},
        rest=rest,
        message=message,
        labels=LABELS,
        default_days=fmt.DEFAULT_DEADLINE_DAYS,
        sections=version.content["sections"],
        settings=settings,
        options=options,
        setting_labels=SETTING_LABELS,
        shown_version=request.form.get("version", version.revision),
    ), status


@bp.get("/checklists/versions/<int:version_id>/sections/<section_code>/new-item")
@requires(*OFFICE)
def checklist_item_new(version_id: int, section_code: str):
    version = _draft(version_id)
    return _item_form(version, _section(version, section_code)[1])


@bp.post("/checklists/versions/<int:version_id>/sections/<section_code>/items")
@requires(*OFFICE)
def checklist_item_add(version_id: int, section_code: str):
    version = _draft(version_id)
    section = _section(version, section_code)[1]
    codes: list[str] = []

    def change():
        data = _item_from_form(new=True)
        taken = set(fmt.items_by_code(version.content))
        start = len(section["items"]) + 1
        data.setdefault("code", _free_code(f"{section_code}.", taken, start))
        drafts.add_item(version, section_code, data, actor=g.user)
        codes.append(data["code"])

    try:
        _edit(version, change)
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, ITEM_SHOWN, lambda **kw: _item_form(version, section, **kw))
    flash("已新增检查项", "info")
    return redirect(_editor_url(version, f"item-{codes[0]}"), code=303)


@bp.get("/checklists/versions/<int:version_id>/items/<item_code>")
@requires(*OFFICE)
def checklist_item(version_id: int, item_code: str):
    version = _draft(version_id)
    section, item, _ = _item(version, item_code)
    return _item_form(version, section, item)


@bp.post("/checklists/versions/<int:version_id>/items/<item_code>")
@requires(*OFFICE)
def checklist_item_change(version_id: int, item_code: str):
    """Save the item's form, or (op) move it up or down in its section, or delete it."""
    version = _draft(version_id)
    section, item, index = _item(version, item_code)
    listed = _move_or_delete(
        version,
        index,
        move=lambda data: drafts.update_item(version, item_code, data, actor=g.user),
        delete=lambda: drafts.delete_item(version, item_code, actor=g.user),
        anchor=f"item-{item_code}",
        deleted=f"已删除检查项“{item['title']}”",
        after_delete=f"section-{section['code']}",
    )
    if listed is not None:
        return listed
    try:
        _edit(
            version,
            lambda: drafts.update_item(
                version,
                item_code,
                _item_from_form(new=False, current_section=section["code"]),
                actor=g.user,
            ),
        )
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, ITEM_SHOWN, lambda **kw: _item_form(version, section, item, **kw))
    flash("检查项已保存", "info")
    return redirect(_editor_url(version, f"item-{item_code}"), code=303)


def init_app(app: Flask) -> None:
    """No menu entry: the builder is reached from 检查表 (新建草稿版本 / 编辑草稿)."""
