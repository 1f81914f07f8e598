"""The password policy: long enough, not the username, not a password everyone tries.

Applied wherever a password is set: creating a person, changing or resetting a password
(API), and `flask create-admin`. Messages are Chinese: they are shown beside the field.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from core import errors

MIN_LENGTH = 10
MIN_DISTINCT = 4  # "aaaaaaaaaa" and "ababababab" are long and still guessed at once


@cache
def common_passwords() -> frozenset[str]:
    text = files("accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problems(password: str, *, username: str | None) -> list[str]:
    """What is wrong with `password` for the person `username`, in Chinese; [] if nothing."""
    problems = []
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少需要 {MIN_LENGTH} 个字符")
    if username and username.lower() in lowered:
        problems.append("密码不能包含用户名")
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        problems.append("密码过于常见，很容易被猜中，请换一个")
    elif len(set(lowered)) < MIN_DISTINCT:
        problems.append("密码字符过于单一，请混合使用不同的字母、数字或符号")
    return problems


def check_password(password: str, *, username: str | None) -> None:
    """Refuse a weak password with a 422 naming the `password` field."""
    problems = password_problems(password, username=username)
    if problems:
        raise errors.InvalidInput("密码不符合安全要求", errors={"password": problems})
