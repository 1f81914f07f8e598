"""The demo campaign: made through the real services, so it must obey their rules."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from inspections.models import Inspection, Plan, PlanStatus
from tests.conftest import PASSWORD


def test_demo_has_a_published_campaign_one_under_way_and_one_announced(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    statuses = sorted(db.session.scalars(select(Plan.status)))
    assert statuses == sorted([PlanStatus.published, PlanStatus.drawn, PlanStatus.drawn])
    assert db.session.scalar(select(func.count(Inspection.id))) > 0

    signed_in = client.post(
        "/api/v1/auth/login", json={"username": "unit_gov", "password": PASSWORD}
    )
    client.token = signed_in.get_json()["token"]
    published = db.session.scalar(select(Plan.id).where(Plan.status == PlanStatus.published))
    disclosure = client.get(f"/api/v1/plans/{published}/disclosure")
    assert disclosure.status_code == 200
    assert disclosure.get_json()["reproducible"] is True
