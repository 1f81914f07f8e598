"""Notifications: an outbox written with the change that causes it, delivered by a worker
to the in-app inbox and to WeChat subscribe messages."""
