"""How many examples the fuzz and property tests try: `suite` (default) or `fuzz` (HYPOTHESIS_PROFILE=fuzz, `make fuzz`).

`suite` keeps the counts modest and derandomised, so the normal suite is
quick and repeatable; `fuzz` tries many more, from a fresh seed each run.
"""
import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "suite")
# Cases the fuzzer sends in all, shared out between the documented operations (so more routes do not slow the suite).
FUZZ_CASES = {"suite": 1500, "fuzz": 12000}[PROFILE]
# Sequences the stateful fuzzer runs (each up to STATEFUL_STEPS calls, following the document's links).
STATEFUL_SCENARIOS = {"suite": 60, "fuzz": 600}[PROFILE]
STATEFUL_STEPS = 6

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]}

settings.register_profile("suite", max_examples=40, derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz", max_examples=400, **_COMMON)
settings.load_profile(PROFILE)
