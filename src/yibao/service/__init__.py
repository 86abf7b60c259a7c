"""The settlement service: ledger, locks, exactly-once messages, access — around the pure core."""
