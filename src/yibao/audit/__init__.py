"""Fund supervision (医保基金智能监管): audit rules as data, run before and after settlement.

- :mod:`model` — what an audit looks at (claims with dated fee lines, the person, the history) and
  what it finds (:class:`Finding`).
- :mod:`knowledge` — the knowledge tables (item restrictions, limits, pairs, bundles …).
- :mod:`pack` — the audit rule pack (YAML): each rule's type, national attributes and parameters.
- :mod:`scalar` — each rule type for one claim against its person's history (the counter, 2303/2304).
- :mod:`columnar` — each rule type over a whole ledger or batch at once (Polars), proved equal to
  the scalar form by a differential test.
- :mod:`engine` — runs a pack's enabled rules of a stage, either way.
"""
