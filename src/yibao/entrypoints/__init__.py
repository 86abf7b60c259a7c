"""Entrypoints: the HTTP composition root (REST API + web window), the CLI."""
