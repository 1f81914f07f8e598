"""`flask --app wsgi demo [--if-empty]`: build the demo city and say how to sign in."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from accounts import service as accounts
from accounts.models import Role, User
from core.db import db
from demo import city
from org import hours
from org.models import LeadUnit, Region, RegionLevel, Sector, Unit


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has people.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load demo data: regions, sectors, ~30 units and people of every role."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException(
            "refusing to load demo data with APP_ENV=production: its people share one known "
            "password. Create the first office account with `flask --app wsgi create-admin`."
        )
    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("Database already has data; demo data not loaded.")
        return
    build_demo_city()
    for hook in current_app.extensions.get("demo_hooks", []):
        hook()
    db.session.commit()
    password = current_app.config["DEMO_PASSWORD"]
    click.echo(f"Demo data loaded. Sign in with any of these (password: {password}):")
    for username, name, role, _ in city.PEOPLE:
        click.echo(f"  {username:<18} {Role(role).value:<16} {name}")


def build_demo_city() -> None:
    top = Region(code=city.CITY[0], name=city.CITY[1], level=RegionLevel.city)
    db.session.add(top)
    db.session.flush()
    districts = {}
    for code, name, children in city.DISTRICTS:
        region = Region(code=code, name=name, level=RegionLevel.township, parent_id=top.id)
        db.session.add(region)
        db.session.flush()
        districts[name] = region
        for child_code, child_name in children:
            db.session.add(
                Region(
                    code=child_code,
                    name=child_name,
                    level=RegionLevel.community,
                    parent_id=region.id,
                )
            )
    sectors = {code: Sector(code=code, name=name) for code, name in city.SECTORS}
    db.session.add_all(sectors.values())
    db.session.flush()
    leads = {
        code: LeadUnit(name=name, sector_id=sectors[code].id) for name, code in city.LEAD_UNITS
    }
    db.session.add_all(leads.values())
    db.session.flush()
    units = {}
    for name, sector, district, address, lat, lng in city.UNITS:
        unit = Unit(
            name=name,
            sector_id=sectors[sector].id,
            region_id=districts[district].id,
            lead_unit_id=leads[sector].id,
            address=address,
            latitude=lat,
            longitude=lng,
            contact_name="值班负责人",
            contact_phone="0663-2222000",
            service_hours=hours.parse_text(city.SERVICE_HOURS[sector])
            if sector in city.SERVICE_HOURS
            else None,
        )
        units[name] = unit
    db.session.add_all(units.values())
    db.session.flush()
    password = current_app.config["DEMO_PASSWORD"]
    for username, display_name, role, bound in city.PEOPLE:
        data = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "password": password,
        }
        if role in ("unit_staff", "inspector") and bound:
            data["unit_id"] = units[bound].id
        if role == "lead_unit_staff":
            data["sector_id"] = sectors[bound].id
        if role in ("office_admin", "viewer") and bound:
            data["region_id"] = districts[bound].id
        accounts.create_user(data, actor=None)
