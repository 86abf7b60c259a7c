"""The bureaus' identity workbooks: column mappings, sheet reading, validation, error workbooks."""
