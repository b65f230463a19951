"""Music on hold as xctest recognises it: a reserved signature (the last index, never given to a
party) that the simulator plays to a held party, so "X hears music-on-hold" is a signature
check like any other.  Pure numpy; imports nothing from the media or SIP layers.
"""

from __future__ import annotations

from xctest.audio.signature import SIGNATURE_COUNT, Signature, SignatureSource, signature_for

MOH_NAME = "music-on-hold"
MOH_INDEX = SIGNATURE_COUNT - 1
MOH_SIGNATURE = signature_for(MOH_INDEX, MOH_NAME)
MOH_LEVEL_DBFS = -18.0


def moh_source(
    signature: Signature = MOH_SIGNATURE, rate: int = 48000, level_dbfs: float = MOH_LEVEL_DBFS
) -> SignatureSource:
    """A continuous music-on-hold generator (``read(n)`` like any signature source)."""
    return SignatureSource(signature, rate, level_dbfs)
