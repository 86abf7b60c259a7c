"""Formats at the edge: bureau workbooks, CSV claim files, settlement exports (no database)."""
