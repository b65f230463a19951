"""``python -m xctest``: the ``xctest`` command."""

from xctest.cli import main

raise SystemExit(main())
