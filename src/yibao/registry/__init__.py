"""People, identities from other bureaus, filings: the registry."""
