"""yibao: one-stop three-tier medical security settlement."""

__version__ = "0.1.0"
