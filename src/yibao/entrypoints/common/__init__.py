"""HTTP plumbing shared by the REST API and the web window: app state, token security, log masking."""
