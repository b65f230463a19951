"""``xctest check``: the first command run against a XiVO.  For each account, one line per
step of xc_webrtc's start-up (REST login, CTI, LineConfig, IceConfig, SIP websocket and its
certificate, REGISTER, media candidates), then one test call with audio verified both ways;
each failure says what to change.  Uses the scenario layer's log-in, never its own.
"""

from xctest.check.lines import CheckLine, CheckReport, Outcome, Section
from xctest.check.run import check_target, default_parties

__all__ = ["CheckLine", "CheckReport", "Outcome", "Section", "check_target", "default_parties"]
