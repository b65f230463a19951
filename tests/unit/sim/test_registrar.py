"""Registrar bindings: expiry is a function of the ``now`` passed in (RFC 3261 §10.3)."""

from __future__ import annotations

from xctest.sim.registrar import Registrar


def test_binding_lives_exactly_the_granted_time():
    reg: Registrar[str] = Registrar(max_expires=3600, min_expires=30)
    assert reg.register("wr1001", "sip:a@x.invalid", "flow1", 60, now=100.0) == 60
    assert reg.lookup("wr1001", now=159.999) is not None
    assert reg.lookup("wr1001", now=160.0) is None
    assert len(reg) == 0


def test_expiry_is_clamped_and_zero_unregisters():
    reg: Registrar[str] = Registrar(max_expires=3600, min_expires=30)
    assert reg.register("l", "c", "f", 5, now=0.0) == 30
    assert reg.register("l", "c", "f", 99999, now=0.0) == 3600
    assert reg.register("l", "c", "f", 0, now=1.0) == 0
    assert reg.lookup("l", now=1.0) is None


def test_closing_a_flow_drops_only_its_bindings():
    reg: Registrar[object] = Registrar()
    f1, f2 = object(), object()
    reg.register("a", "c1", f1, 60, now=0.0)
    reg.register("b", "c2", f2, 60, now=0.0)
    assert reg.drop_flow(f1) == ["a"]
    assert reg.lookup("a", now=1.0) is None
    binding = reg.lookup("b", now=1.0)
    assert binding is not None and binding.flow is f2
