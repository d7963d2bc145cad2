"""Live delivery: the broker that fans events out to waiting requests and streams."""
