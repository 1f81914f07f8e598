"""Serve a WSGI app on 127.0.0.1 in a background thread, for the session."""

from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log: the fakes stand for remote services, whose logs are not ours (and
    would hold the very query strings our own logs must not, failing those tests)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class BackgroundServer:
    def __init__(self, wsgi_app):
        self._server = make_server(
            "127.0.0.1", 0, wsgi_app, threaded=True, request_handler=QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
