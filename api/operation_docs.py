"""Who may call each operation, what retrying it does, and the headers of its answers, in
the OpenAPI document: derived in one place, like the error answers (api/problem_docs.py).

A client author reads, under every operation's own description (the view's docstring after
its summary line), three generated lines:

- **callers**, from the view's permission policy (`@requires`/`@public`, api/auth.py), the
  roles in Chinese and English; also `x-roles`, the role values;
- **what it changes**, for a read: nothing, unless its mark says what it writes after all
  (`changes=`, the ledgers' export jobs); a write says it in its docstring;
- **idempotency and retry**, also `x-idempotent`: from a mark on the view (`@idempotent` /
  `@not_idempotent`, for what the method cannot tell) or else from the method and body —
  GET, PUT, PATCH and DELETE are idempotent; a POST whose body requires `client_id` or
  `client_uuid` is idempotent by that key (201 first, 200 with the same body on a replay,
  docs/api.md); a POST checked by If-Match cannot take effect twice (a resent copy meets a
  newer ETag: 412, re-read, then decide). If-Match adds its 412 rule to any method. A POST
  none of these cover stops the app from starting until its view is marked.

Answer headers: `ETag` on the 2xx answers of views marked `@sends_etag` (api/etag.py; the
generated-requests test checks each answer's header against the document).
"""

from __future__ import annotations

from collections.abc import Callable

from api.problem_docs import ViewOperationPlugin

RETRY_ATTR = "_idempotency"
ETAG_ATTR = "_sends_etag"
CHANGES_ATTR = "_changes"
KEYS = ("client_uuid", "client_id")

ROLE_NAMES = {
    "office_admin": "office admin",
    "inspector": "inspector",
    "unit_staff": "unit (window staff)",
    "lead_unit_staff": "lead unit",
    "viewer": "viewer (read-only)",
}

CALLERS = "**可调用 / Callers**："
CHANGES = "**改变 / Changes**："
RETRY = "**幂等与重试 / Idempotency & retry**："
GENERATED = (CALLERS, CHANGES, RETRY)

READ_ONLY = "无，只读 / nothing, read-only."
SAFE = "幂等：只读，失败可随时重发 / idempotent: a read, retry at will."
KEYED = (
    "按 `{key}` 幂等 / idempotent by `{key}`：首次请求 201；同一 `{key}` 的重发（含与首次同时"
    "到达的）返回 200 与首次相同的内容，不会重复创建。超时或断网时用**同一个** `{key}` 原样"
    "重发 / the first call answers 201, every replay with the same key 200 and the same body; "
    "resend with the same key after a timeout."
)
PUT = (
    "幂等：整体替换，重发结果相同 / idempotent: a full replacement, resending changes nothing more."
)
PATCH = (
    "幂等：只设置给出的字段，重发结果相同 / idempotent: sets the fields given, a resend "
    "changes nothing more."
)
DELETE = (
    "幂等：只生效一次；重发不再改变数据（404、409 或 412）/ idempotent: done once, a resend "
    "changes nothing (404, 409 or 412)."
)
IF_MATCH_REQUIRED = (
    "需 If-Match：重发已成功的请求会因 ETag 已变得到 412，不会生效两次；412 时重新 GET 取"
    "最新数据和 ETag，确认仍需修改再发 / If-Match required: a resent copy of a request that "
    "succeeded meets a newer ETag (412) and cannot apply twice; on 412 re-read, then retry."
)
IF_MATCH_OPTIONAL = (
    "可带 If-Match：带上时，数据已变返回 412，重新 GET 后再决定是否重发 / optional If-Match: "
    "with it a stale copy is refused (412); re-read, then retry."
)

KEYED_IF_MATCH = (
    "可带 If-Match，只在首次检查：同一 key 的重发直接返回首次结果，不再比对 ETag / optional "
    "If-Match, checked on the first call only: a replay is answered before it is looked at."
)


def role_list(policy) -> str:
    """The roles of a policy, Chinese first: "督查员 inspector、窗口单位 unit (window staff)"."""
    from accounts.models import ROLE_LABELS, Role
    from api.auth import PUBLIC

    if policy == PUBLIC:
        return "任何人，无需登录 / anyone, no sign-in."
    roles = [role for role in Role if role in set(policy)]
    names = "、".join(f"{ROLE_LABELS[r]} {ROLE_NAMES[r.value]}" for r in roles)
    if set(roles) == set(Role):
        return f"所有已登录用户 / every signed-in user（{names}）；能看到的范围按角色限定。"
    return f"{names}；其他角色 403 / other roles get 403."


# -- marks ---------------------------------------------------------------------------------


def _mark(note: str, idempotent: bool, changes: str | None) -> Callable:
    def decorator(func: Callable) -> Callable:
        setattr(func, RETRY_ATTR, (idempotent, note))
        if changes is not None:
            setattr(func, CHANGES_ATTR, changes)
        return func

    return decorator


def idempotent(note: str, *, changes: str | None = None) -> Callable:
    """Mark a view whose method does not say it: why a repeat changes nothing, what it
    answers. `changes`: what a GET writes after all (else it is documented as read-only)."""
    return _mark(note, True, changes)


def not_idempotent(note: str, *, changes: str | None = None) -> Callable:
    """Mark a view a repeat acts on again: what a resend does, and how to retry safely."""
    return _mark(note, False, changes)


# -- the plugin ----------------------------------------------------------------------------


class OperationNotes(ViewOperationPlugin):
    """apispec plugin: callers, idempotency and the ETag header of every operation."""

    def document(self, app, rule, method: str, operation: dict) -> None:
        from api.auth import handler_of, policy_of

        policy = policy_of(app, rule.endpoint, method)
        handler = handler_of(app, rule.endpoint, method)
        marked = getattr(handler, RETRY_ATTR, None)
        is_idempotent, retry = self._retry(method, operation, marked)
        lines = [CALLERS + role_list(policy)]
        if method == "get":
            lines.append(CHANGES + getattr(handler, CHANGES_ATTR, READ_ONLY))
        lines.append(RETRY + retry)
        own = (operation.get("description") or "").strip()
        operation["description"] = "\n\n".join([own, *lines] if own else lines)
        operation["x-roles"] = sorted(policy) if policy != "public" else ["public"]
        operation["x-idempotent"] = is_idempotent
        if getattr(handler, ETAG_ATTR, False):
            _etag_headers(operation)

    def _retry(self, method: str, operation: dict, marked) -> tuple[bool, str]:
        """(idempotent, the retry rule) of one operation: the mark, else method and body."""
        if_match = _if_match(operation)
        extra = {"required": IF_MATCH_REQUIRED, "optional": IF_MATCH_OPTIONAL}.get(if_match)
        if marked is not None:
            base = marked
        elif method == "get":
            base = (True, SAFE)
        elif method == "post" and (key := self._key_of(operation)):
            base = (True, KEYED.format(key=key))
            extra = extra and KEYED_IF_MATCH
        elif method in {"put", "patch", "delete"}:
            base = (True, {"put": PUT, "patch": PATCH, "delete": DELETE}[method])
        elif if_match == "required":
            return True, IF_MATCH_REQUIRED
        else:
            raise RuntimeError(
                f"{method.upper()} {operation.get('summary')}: say whether it is idempotent "
                "(@idempotent / @not_idempotent in api.operation_docs)"
            )
        idempotent_, note = base
        return idempotent_, f"{note} {extra}" if extra else note

    def _key_of(self, operation: dict) -> str | None:
        """The client key a POST's body requires, read from its schema component."""
        bodies = operation.get("requestBody", {}).get("content", {}).values()
        schemas = self.api.spec.components.schemas if bodies else {}
        for media in bodies:
            ref = media.get("schema", {})
            name = ref.get("$ref", "").rsplit("/", 1)[-1] if isinstance(ref, dict) else ""
            required = schemas.get(name, {}).get("required", [])
            for key in KEYS:
                if key in required:
                    return key
        return None


def _if_match(operation: dict) -> str | None:
    for parameter in operation.get("parameters", []):
        ref = parameter.get("$ref", "") if isinstance(parameter, dict) else parameter
        if ref.rsplit("/", 1)[-1] == "IF_MATCH":
            return "required"
        if isinstance(parameter, dict) and parameter.get("name") == "If-Match":
            return "required" if parameter.get("required") else "optional"
    return None


ETAG = {
    "description": "资源当前版本；修改时放入 If-Match / the resource's version, for If-Match",
    "schema": {"type": "string"},
    "required": True,
}


def _etag_headers(operation: dict) -> None:
    for code, response in operation.get("responses", {}).items():
        code = str(code)
        if code.startswith("2") and code != "204" and isinstance(response, dict):
            response.setdefault("headers", {})["ETag"] = ETAG
