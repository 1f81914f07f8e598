"""The error answers of every operation in the OpenAPI document, derived in one place.

No view lists its errors by hand. What each operation can answer follows from what the
view already declares, read when its blueprint is documented (an apispec plugin, so a
route added anywhere is covered without its author doing anything):

- 401 unless the view is `@public`; 403 when `@requires` leaves some role out;
- 404 when the path holds an id; 409 on every write (a concurrent request's row can win
  at commit, `api.integrity_conflict`), besides the domain's own conflicts;
- 400, 413, 415 and 422 when the operation takes a body; 422 on query arguments and on
  every write (services refuse values schemas cannot judge);
- 412/428 where `@if_match` (api.etag), 429 where the view declares it (sign-in);
- 503 everywhere: every operation reads the database;
- `default`: anything else (500).

Every one of them is `application/problem+json` with the `Problem` schema, whose `type`
is the enum of api/problems.py. A 2xx answer documented without a body (the 200 of a
replay) gets the body of the operation's 201: a replay answers what the first call did.
"""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin

from api import problems

PROBLEM_MIME = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get"}

RETRY_AFTER = {
    "description": "重试前应等待的秒数",
    "schema": {"type": "integer", "minimum": 0},
}
WWW_AUTHENTICATE = {
    "description": '认证方式 / the challenge: `Bearer`, or `Bearer error="invalid_token"` when '
    "the token sent is unknown, expired or revoked (RFC 6750)",
    "schema": {"type": "string"},
}
HEADERS = {
    401: {"WWW-Authenticate": WWW_AUTHENTICATE},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}


def response_name(status: int) -> str:
    return HTTPStatus(status).name


def problem_response(status: int | None) -> dict:
    """The component for one status: its types, each with its Chinese title."""
    if status is None:
        description = "其他错误（如 500），同样为 problem+json"
    else:
        types = "；".join(f"`{p.urn}` {p.title}" for p in problems.of_status(status))
        description = f"{problems.REGISTRY[problems.GENERIC[status]].title}。type：{types}"
    response = {"description": description, "content": {PROBLEM_MIME: {"schema": PROBLEM_REF}}}
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def register_components(spec) -> None:
    """The `Problem` schema and one response per error status (lazy: only those used)."""
    from api.schemas import ProblemSchema

    spec.components.schema("Problem", schema=ProblemSchema)
    for status in problems.GENERIC:
        spec.components.response(response_name(status), problem_response(status), lazy=True)
    spec.components.response("DEFAULT_ERROR", problem_response(None), lazy=True)


def statuses_for(policy, *, method: str, has_path_ids: bool, operation: dict) -> set[int]:
    from accounts.models import Role
    from api.auth import PUBLIC

    statuses = {503}
    if policy != PUBLIC:
        statuses.add(401)
        if set(policy) != set(Role):
            statuses.add(403)
    if has_path_ids:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
        statuses.add(422)
    if method in WRITES:
        statuses |= {409, 422}
    return statuses


class ViewOperationPlugin(BasePlugin):
    """An apispec plugin that completes each operation of a Flask view from the view
    itself (its policy, its marks): `document(app, rule, method, operation)` is called
    for every HTTP method of every route."""

    def __init__(self, api) -> None:
        self.api = api

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        app = getattr(self.api, "_app", None)
        if rule is None or app is None or not operations:
            return
        for method, operation in operations.items():
            if method in METHODS:
                self.document(app, rule, method, operation)

    def document(self, app, rule, method: str, operation: dict) -> None:
        raise NotImplementedError


class ProblemResponses(ViewOperationPlugin):
    """apispec plugin: completes each operation's error answers (see the module doc)."""

    def document(self, app, rule, method: str, operation: dict) -> None:
        from api.auth import policy_of

        responses = {str(code): r for code, r in operation.get("responses", {}).items()}
        policy = policy_of(app, rule.endpoint, method)
        for status in sorted(
            statuses_for(
                policy, method=method, has_path_ids=bool(rule.arguments), operation=operation
            )
        ):
            responses.setdefault(str(status), response_name(status))
        for code, response in responses.items():
            if isinstance(response, dict) and code.isdigit() and int(code) >= 400:
                response["content"] = {PROBLEM_MIME: {"schema": PROBLEM_REF}}
                if int(code) in HEADERS:
                    response.setdefault("headers", HEADERS[int(code)])
        _replay_body(responses)
        operation["responses"] = dict(
            sorted(responses.items(), key=lambda item: (not item[0].isdigit(), item[0]))
        )


def _replay_body(responses: dict) -> None:
    created = responses.get("201")
    replay = responses.get("200")
    if not (isinstance(created, dict) and isinstance(replay, dict)):
        return
    if "content" not in replay:
        if "content" in created:
            replay["content"] = created["content"]
        if "headers" in created and "headers" not in replay:
            replay["headers"] = created["headers"]
    for mime, media in replay.get("content", {}).items():
        first = created.get("content", {}).get(mime, {})
        if "example" in first and "example" not in media and media["schema"] == first["schema"]:
            media["example"] = first["example"]  # the same body, so the same example
