"""Checklists (检查表): configurable, versioned templates and the default library.

Interface for other domains (inspections, reports)
---------------------------------------------------
Models (`checklists.models`):

- `ChecklistTemplate(id, code, name, description, all_sectors, sectors, revision)`.
- `ChecklistVersion(id, template_id, number, status, content, content_hash, published_at,
  retired_at, revision)`; `status` is `VersionStatus.draft | published | retired`. A template
  has at most one published version; publishing a new one retires the old. Published and
  retired versions never change: pin `version.id` on an inspection and render it later from
  `get_version(id, actor=...).content`.

Content (`version.content`, always normalised by `checklists.content.normalise`)::

    {"name": "窗口服务明察暗访检查表", "description": "...",
     "scoring": {"method": "deduction" | "weighted", "base": 100,
                 "bands": {"excellent": 90, "good": 80, "pass": 60}},
     "sections": [{"code": "dress", "title": "仪容仪表", "description": "",
                   "cap": 20 | None, "items": [item, ...]}]}

Every item carries all of these keys (defaults filled in):

- `code` stable, unique in the version (`^[a-z0-9][a-z0-9_.-]{0,39}$`); answers key on it;
- `kind`: pass_fail | score | single_choice | multi_choice | number | text | photo;
- `title`, `guidance` (for the inspector on site), `source` (the seed clause it comes from);
- `points` (deducted on failure, or the weight in weighted scoring; 0 for text/photo);
- `photo`: 'always' | 'on_fail' | 'never';
- `severity`: English codes 'general' | 'major' | 'severe', shown as 一般 / 较重 / 严重
  (`checklists.content.SEVERITY_LABELS`);
- `deadline_days` (default rectification deadline; defaults 15 / 7 / 3 by severity);
- `fix_on_spot` (立行立改 allowed), `critical` (一票否决), `required`, `allow_na` (不适用);
- kind-specific: score → `max`, `pass_score`; single/multi choice → `options` [{value,
  label, fail}]; number → `unit`, `min`, `max`, `integer`, `pass_min`, `pass_max`,
  `total_label`, `pass_ratio` (e.g. cameras working out of cameras installed: the answer
  carries `value` and `total`); text → `max_length`.

Services (`checklists.service`):

- `get_version(version_id, *, actor) -> ChecklistVersion` (NotFound if missing, or a
  draft the actor may not see);
- `published_version_for_unit(unit) -> ChecklistVersion` (a template naming the unit's sector
  wins over an all-sectors one; NotFound when none is published);
- `default_template_version() -> ChecklistVersion | None` (the default library, if loaded).

Scoring (`checklists.scoring`, pure, no database; rules in docs/scoring.md):

- `validate_answers(content, answers) -> {path: [messages]}` — answers keyed by item code:
  `{"result": "pass"|"fail"|"na"}` for pass_fail, `{"value": ...}` otherwise, `{"result":
  "na"}` where `allow_na`, optional `"note"`; number items with `total_label` also `"total"`.
  Completeness is not checked (drafts): see `Score.missing_required`.
- `is_failed(item, answer) -> bool`;
- `score(content, answers, rules=None) -> Score(score, max_score, grade, critical_failed,
  failed_codes, missing_required, na_codes, section_losses)`; grade is 优秀/良好/合格/不合格;
- `required_photo_codes(content, answers) -> [code]`.

Authoring lives in `checklists.drafts` (edit a draft's content, sections and items) and
`checklists.transfer` (export and import as JSON or YAML); `checklists.content` is the format and
its validation; `checklists.policy` who may see drafts.

The default library (`checklists/library/window_service.json`) is installed by
`flask checklists install-default` and by `make run` (a demo hook).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """`flask checklists ...`, and the default library as the first demo hook."""
    from checklists.library import checklists_cli, install_default

    app.cli.add_command(checklists_cli)
    app.extensions.setdefault("demo_hooks", []).append(install_default)
