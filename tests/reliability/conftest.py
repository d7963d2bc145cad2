"""Hypothesis profiles for the fuzz and property tests.

`suite` (the default) keeps example counts modest and derandomised, so the
normal suite is quick and repeatable; `make fuzz` selects `fuzz`
(HYPOTHESIS_PROFILE=fuzz): many more examples, a fresh random seed each run.
"""
import os

from hypothesis import HealthCheck, settings

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]}

settings.register_profile("suite", max_examples=40, derandomize=True, database=None, **COMMON)
settings.register_profile("fuzz", max_examples=400, **COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
