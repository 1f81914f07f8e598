"""The office's web console: server-rendered pages under /console.

Signed in with the office's username and password; the session cookie carries a token from
the same table as the API's bearer tokens, so sign-out and disabling a person end it too.
Every view goes through the same `requires` policy as the API; forms carry a CSRF token.
"""
