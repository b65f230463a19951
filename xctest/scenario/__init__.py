"""The scenario language: models, loader and JSON Schema of *.scenario.yaml files."""

from __future__ import annotations

from xctest.scenario.loader import SCENARIO_SUFFIX, load_scenario_text, load_scenarios
from xctest.scenario.model import Scenario
from xctest.scenario.schema import json_schema

__all__ = ["SCENARIO_SUFFIX", "Scenario", "json_schema", "load_scenario_text", "load_scenarios"]
