"""The two-host lab as fixtures: ``xivo_lab`` is the XiVO-CC-like topology of ``netlab`` with
the simulator started and a target file for the lab side; ``make_xivo_lab`` builds variants
(another certificate, lab file or simulator options).  Everything is removed by the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from xivolab import XivoLab

LabFactory = Callable[..., XivoLab]


@pytest.fixture
def make_xivo_lab(tmp_path: Path) -> Iterator[LabFactory]:
    """Build labs (see ``XivoLab``); each is taken down when the test ends."""
    made: list[XivoLab] = []

    def factory(**options: Any) -> XivoLab:
        workdir = tmp_path / f"lab{len(made)}"
        workdir.mkdir()
        lab = XivoLab(workdir, **options)
        made.append(lab)
        return lab

    try:
        yield factory
    finally:
        for lab in made:
            lab.close()


@pytest.fixture
def xivo_lab(make_xivo_lab: LabFactory) -> XivoLab:
    """The XiVO-CC-like two-host lab, simulator started (see ``XivoLab``)."""
    return make_xivo_lab()
