"""Use cases: what the REST API, the web window, the national interface and the CLI all call."""
