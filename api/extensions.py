"""Unbound extensions, bound to the app in `create_app`."""

from __future__ import annotations

import flask_smorest
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from webargs.flaskparser import FlaskParser

from api import errors
from core.db import db

__all__ = ["Blueprint", "api", "csrf", "db", "migrate"]


class Api(flask_smorest.Api):
    """flask-smorest's Api, speaking problem+json for every HTTP error."""

    def handle_http_exception(self, error):
        return errors.from_http_exception(error)


class Blueprint(flask_smorest.Blueprint):
    """Each schema decides about unknown fields, in every location (query too): ours say
    RAISE, so a mistyped filter is a 422 instead of a silently unfiltered list."""

    ARGUMENTS_PARSER = FlaskParser(unknown=None)


api = Api()
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
