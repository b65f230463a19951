"""``xctest check`` as a whole: every account of the target, then one test call between the
first two that logged in."""

from __future__ import annotations

from collections.abc import Sequence

from xctest.check.account import check_account
from xctest.check.call import check_call
from xctest.check.lines import CheckReport, Outcome, Section
from xctest.scenario.target import Target
from xctest.scenario.xivo import Party, Xivo

__all__ = ["check_target", "default_parties"]


def default_parties(target: Target, xivo: Xivo) -> list[str]:
    """Every party of a real XiVO's target file; the simulator's first two lab users."""
    if xivo.lab is not None:
        return [u.login for u in xivo.lab.users[:2]]
    return list(target.users)


async def check_target(
    target: Target, parties: Sequence[str] = (), *, call: bool = True
) -> CheckReport:
    """Check ``parties`` (default: ``default_parties``) one after the other, then (``call``)
    a test call between the first two that logged in."""
    async with Xivo(target) as xivo:
        report = CheckReport(xivo.name)
        names = list(parties) or default_parties(target, xivo)
        logged: list[Party] = []
        for name in names:
            section, party = await check_account(xivo, name, report)
            report.sections.append(section)
            if party is not None:
                logged.append(party)
        if call:
            if len(logged) >= 2:
                report.sections.append(await check_call(logged[0], logged[1], report))
            else:
                section = Section("test call")
                section.add(
                    "dial",
                    Outcome.FAIL,
                    f"needs two accounts that log in; {len(logged)} did",
                    "fix the accounts above, or name two with --party",
                )
                report.sections.append(section)
    return report
