"""HTTP interfaces (FastAPI)."""
