"""Pure policy what-if: one county-year under a baseline and a reform, compared."""
