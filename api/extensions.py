"""Unbound extensions, bound to the app in `create_app`."""

from __future__ import annotations

from http import HTTPStatus

import flask_smorest
from flask_migrate import Migrate
from flask_smorest.utils import deepupdate
from flask_wtf.csrf import CSRFProtect
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from api import errors, operation_docs, problem_docs
from api.schemas import ProblemSchema, invalid_json_message, load_json_body
from core.db import db

__all__ = ["Blueprint", "api", "csrf", "db", "migrate"]


class Api(flask_smorest.Api):
    """flask-smorest's Api, speaking problem+json for every HTTP error, and documenting
    each operation's errors as such (api/problem_docs.py), its callers, idempotency and
    answer headers (api/operation_docs.py)."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return errors.from_http_exception(error)

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        plugins = [
            *(extra_plugins or ()),
            operation_docs.OperationNotes(self),
            problem_docs.ProblemResponses(self),
        ]
        super()._init_spec(extra_plugins=plugins, **kwargs)

    def _register_responses(self):
        problem_docs.register_components(self.spec)


class Parser(FlaskParser):
    """webargs' parser, reading JSON bodies through `load_json_body` (depth, long numbers,
    unstorable text) and saying in Chinese when a body is not JSON."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return load_json_body(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        """webargs answers a body that is not JSON with `errors.json` = ["Invalid JSON
        body."]; the client reads ours, in Chinese (tests/test_errors.py)."""
        abort(400, exc=error, messages={"json": [invalid_json_message(error)]})


class Blueprint(flask_smorest.Blueprint):
    """Each schema decides about unknown fields, in every location (query too): ours say
    RAISE, so a mistyped filter is a 422 instead of a silently unfiltered list.

    Views marked `@api.etag.if_match` get the If-Match header and the 412/428 answers in
    the API docs, whatever their method (flask-smorest's own ETag support documents them
    for PUT, PATCH and DELETE only, and computes ETags we take from version columns)."""

    ARGUMENTS_PARSER = Parser(unknown=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_if_match_doc)

    @staticmethod
    def _prepare_if_match_doc(doc, doc_info, **kwargs):
        need = doc_info.get("if_match")
        if need is None:
            return doc
        if need == "required":
            doc.setdefault("parameters", []).append("IF_MATCH")
            statuses = (412, 428)
        else:
            doc.setdefault("parameters", []).append(IF_MATCH_OPTIONAL)
            statuses = (412,)
        responses = {status: HTTPStatus(status).name for status in statuses}
        return deepupdate(doc, {"responses": responses})


IF_MATCH_OPTIONAL = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "可选：上次读取时的 ETag；已过期时返回 412",
    "schema": {"type": "string"},
}

api = Api()
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
