"""The lowest layer: errors, time, tokens, stored values, database helpers, metrics and rate counting. It reads no request."""
