"""Secrets at rest (DESIGN.md invariant 8): gateway credentials entered in the staff web app, stored
encrypted with a key kept outside the database and its backups. See ``store.py``."""
