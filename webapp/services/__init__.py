"""The domain logic. Blueprints, the CLI and background tasks call these; nothing else holds rules."""
