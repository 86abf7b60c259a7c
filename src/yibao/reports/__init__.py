"""The bureau's reports: the catalogue (one entry per report), the pure tables, and their workbook, charts and HTML."""
