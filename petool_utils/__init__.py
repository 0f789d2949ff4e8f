"""petool: a reproducible research kit for personalized tool learning (PEToolLLM, end to end).

The notebooks and the ``petool`` CLI are the only callers of this package; everything a test would
want to check lives here.
"""

__version__ = "0.1.0"

SETTINGS: tuple[str, ...] = ("preferred", "ratings", "chronological")
"""The paper's three personalized settings, in the paper's order."""

ALL_SETTINGS: tuple[str, ...] = SETTINGS + ("none",)
"""The three settings plus ``none``: the no-history ablation of the paper (Figure 5)."""
