"""The built-in XiVO simulator."""

from __future__ import annotations

from xctest.sim.lab import Lab, User, default_lab, load_lab
from xctest.sim.simulator import SimConfig, Simulator

__all__ = ["Lab", "SimConfig", "Simulator", "User", "default_lab", "load_lab"]
