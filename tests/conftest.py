"""Test-suite wide settings: the scenario files under tests/data are inputs of the loader and
plugin tests (some broken on purpose), never scenarios to run."""

pytest_plugins = ["pytester"]
collect_ignore = ["data"]
