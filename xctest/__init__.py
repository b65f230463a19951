"""xctest: automated call testing for XiVO.

Virtual xc_webrtc phones, a built-in XiVO simulator, and audio-proven checks of every call.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
