"""Requests generated from the OpenAPI document by schemathesis: never a 500.

The hand-written fuzz (test_fuzz_bodies.py) sends one bad value at a time; schemathesis
builds whole requests — valid ones that reach the services, invalid ones that test the
schemas — for every operation, with the office admin's token (every role check passes,
so the deepest code is reached) and the If-Match headers the docs ask for. A longer run
of the schemathesis CLI over demo data found two 500s the fuzz could not (an id too long
for the database in a URL; a rename to a taken username, which needs real usernames and
is covered in test_org.py); this test catches the first kind: removing the id converter
makes it fail. Examples are derandomized: the same requests every run.

Every answer is also checked against the document (status code, content type, body
schema and headers, schemathesis' conformance checks; and no ETag sent undocumented), signed
in as the office, an inspector and a unit: a client generated from the document must be able
to read what it gets, errors included (removing the problem+json documentation of
api/problem_docs.py makes it fail).
"""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role

EXAMPLES = 3  # per operation and mode: ~500 requests a database, ~10 s
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,  # a documented ETag or Location is really sent
]
# The office reaches the deepest code (both modes); the others see what their role gets.
RUNS = {
    Role.office_admin: (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    Role.inspector: (GenerationMode.POSITIVE,),
    Role.unit_staff: (GenerationMode.POSITIVE,),
}
# Signing out would end the token the rest of the run uses.
SKIP = {("POST", "/api/v1/auth/logout")}


@pytest.mark.parametrize("role", list(RUNS), ids=str)
def test_generated_requests_never_cause_a_server_error(app, world, client_for, role):
    token = client_for(world.users[role]).token
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    failures: list[tuple] = []
    sent = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for mode in RUNS[role]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def send(case):
                nonlocal sent
                headers = {"Authorization": f"Bearer {token}"}
                # Each request in its own context, as in production (see IsolatedClient).
                response = contextvars.Context().run(case.call, headers=headers)
                sent += 1
                if response.status_code >= 500 and response.status_code != 503:
                    failures.append((case.method, case.formatted_path, response.status_code))
                if _etag_undocumented(spec, case, response):
                    failures.append((case.method, case.formatted_path, "ETag not documented"))
                try:
                    case.validate_response(response, checks=CONFORMANCE, headers=headers)
                except BaseExceptionGroup as group:  # schemathesis' FailureGroup
                    found = "; ".join(str(e).splitlines()[0] for e in group.exceptions)
                    failures.append((case.method, case.formatted_path, response.status_code, found))

            try:
                send()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing in it can be made invalid

    assert not failures, failures[:10]
    assert sent > 400 if role is Role.office_admin else sent > 150  # every operation


def _etag_undocumented(spec: dict, case, response) -> bool:
    """A 2xx answer carrying an ETag its operation does not document (`@sends_etag`); the
    other way round, a documented one missing, is response_headers_conformance's."""
    if not 200 <= response.status_code < 300:
        return False
    sent = any(name.lower() == "etag" for name in response.headers)
    responses = spec["paths"][case.path][case.method.lower()]["responses"]
    documented = "ETag" in responses.get(str(response.status_code), {}).get("headers", {})
    return sent and not documented
