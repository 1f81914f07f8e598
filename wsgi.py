"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from api import create_app

app = create_app()

# The app's startup leaves ~250 000 long-lived objects (models, schemas, the OpenAPI
# document) that every full collection would walk again: ~100 ms a worker, a latency spike
# every hundred requests or so (bench/submit.py's list_100k_p99_ms). Collect the startup's
# garbage once, then move what is left out of the collector's sight for good.
gc.collect()
gc.freeze()
