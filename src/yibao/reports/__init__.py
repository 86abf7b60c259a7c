"""Pure report tables over the claims table, and their workbook, charts and HTML."""
