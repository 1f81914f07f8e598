"""The password policy, the first office account (`flask create-admin`), and a demo that
stays out of production."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from accounts.passwords import password_problems
from api.config import from_environment
from core.db import db
from demo import city
from tests.conftest import PASSWORD, assert_problem

WEAK = [
    "12345678",  # the example: short and common
    "1234567890",
    "a123456789",
    "woaini1314",
    "qwertyuiop",
    "1qaz2wsx",
    "password1",
    "Password1234",  # common whatever the case
    "1qaz2wsx3edc",
    "aaaaaaaaaaaa",  # long, and one character
    "abababababab",
    "short",
]


def new_person(**over):
    return {"username": "zhang_wei", "display_name": "张伟", "role": "inspector"} | over


@pytest.mark.parametrize("password", WEAK)
def test_a_weak_password_is_refused_on_create(office, password):
    response = office.post("/api/v1/users", json=new_person(password=password))
    body = assert_problem(response, 422)
    assert body["errors"]["password"]
    assert all(any("\u4e00" <= c <= "\u9fff" for c in m) for m in body["errors"]["password"])
    assert db.session.scalar(select(User).where(User.username == "zhang_wei")) is None


@pytest.mark.parametrize("password", ["zhang_wei", "Zhang_Wei2026!", "my zhang_wei pass"])
def test_the_username_is_not_a_password(office, password):
    body = assert_problem(office.post("/api/v1/users", json=new_person(password=password)), 422)
    assert "密码不能包含用户名" in body["errors"]["password"]


def test_a_good_password_is_accepted(office):
    response = office.post("/api/v1/users", json=new_person(password="lotus pond at dawn"))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("password", ["12345678", "woaini1314", "user_self_2026"])
def test_a_weak_password_is_refused_on_change(office, make_user, password):
    user = make_user(Role.inspector, username="user_self")
    etag = office.get(f"/api/v1/users/{user.id}").headers["ETag"]
    response = office.patch(
        f"/api/v1/users/{user.id}", json={"password": password}, headers={"If-Match": etag}
    )
    assert "password" in assert_problem(response, 422)["errors"]
    # The old password still works.
    login = {"username": "user_self", "password": PASSWORD}
    assert office.post("/api/v1/auth/login", json=login).status_code == 201


def test_a_password_change_checks_against_a_new_username(office, make_user):
    user = make_user(Role.inspector)
    etag = office.get(f"/api/v1/users/{user.id}").headers["ETag"]
    response = office.patch(
        f"/api/v1/users/{user.id}",
        json={"username": "renamed_one", "password": "renamed_one and more"},
        headers={"If-Match": etag},
    )
    assert "密码不能包含用户名" in assert_problem(response, 422)["errors"]["password"]


def test_the_default_demo_password_passes_for_every_demo_person(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    password = from_environment()["DEMO_PASSWORD"]
    for username, *_ in city.PEOPLE:
        assert password_problems(password, username=username) == [], username


# -- flask create-admin ---------------------------------------------------------------------


def create_admin(runner, *args, stdin=None):
    return runner.invoke(args=["create-admin", *args], input=stdin)


def test_create_admin_from_stdin(runner, client):
    result = create_admin(
        runner,
        "--username",
        "chen_office",
        "--display-name",
        "陈督查",
        "--password-stdin",
        stdin="a long office phrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "chen_office"))
    assert user.role == Role.office_admin
    assert user.display_name == "陈督查"
    login = {"username": "chen_office", "password": "a long office phrase"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 201


def test_create_admin_asks_twice(runner):
    answers = "chen_office\n陈督查\na long office phrase\na long office phrase\n"
    result = create_admin(runner, stdin=answers)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize("password", ["12345678", "woaini1314", "chen_office_2026"])
def test_create_admin_refuses_a_weak_password(runner, password):
    result = create_admin(
        runner, "--username", "chen_office", "--display-name", "陈", "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "password refused" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_admin_refuses_a_taken_username(runner, make_user):
    make_user(Role.inspector, username="chen_office")
    result = create_admin(
        runner, "--username", "chen_office", "--display-name", "陈", "--password-stdin",
        stdin="a long office phrase\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "用户名已被使用" in result.output
    (user,) = db.session.scalars(select(User))
    assert user.role == Role.inspector  # untouched


# -- flask demo -----------------------------------------------------------------------------


def test_demo_refuses_to_run_in_production(app, make_app):
    production = make_app(APP_ENV="production")
    with production.app_context():
        result = production.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "APP_ENV=production" in result.output
    assert "create-admin" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
