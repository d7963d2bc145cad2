"""The reliability tests: fuzzing, properties, faults. Hypothesis profiles are chosen in profiles.py."""
from tests.reliability import profiles  # noqa: F401  (registers and loads the Hypothesis profile)
