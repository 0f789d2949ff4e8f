"""petool's own method: an offline, CPU-only personalized tool ranker and parameter filler.

``PersonalizedRanker`` is a Predictor (``name = "ranker"``); the evaluation engine serves it as
``offline:ranker``. It is not an LLM and is never presented as one.
"""

from petool_utils.predictors.ranker.predictor import COMPONENTS, DEFAULT_COMPONENTS, PersonalizedRanker

__all__ = ["COMPONENTS", "DEFAULT_COMPONENTS", "PersonalizedRanker"]
