"""Monitoring and reports over settled claims, from the ledger or from the batch engine's output."""
