"""Pieces every domain package shares: the database base, domain errors, clock, audit."""
