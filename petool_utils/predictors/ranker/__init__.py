"""petool's own method: an offline, CPU-only personalized tool ranker and parameter filler.

* ``PersonalizedRanker``: ``offline:ranker`` (no population: one prompt at a time) and
  ``offline:ranker@prior.json`` (a prior fitted on training histories, :mod:`.prior`);
* ``CrossFitted``: ``offline:ranker@crossfit:K``, group-disjoint cross-fitting on the evaluated
  benchmark (:mod:`.crossfit`);
* ``PopularityPredictor``: ``offline:popularity``, the shortcut baseline of the popularity audit
  (:mod:`petool_utils.evaluation.ranker_audit`).

None of them is an LLM, and none is ever presented as one.
"""

from petool_utils.predictors.ranker.crossfit import CrossFitted, PopularityPredictor, fold_of
from petool_utils.predictors.ranker.parameters import FillerRules
from petool_utils.predictors.ranker.predictor import COMPONENTS, DEFAULT_COMPONENTS, PersonalizedRanker
from petool_utils.predictors.ranker.prior import RankerPrior, fit_prior, read_prior, write_prior

__all__ = ["COMPONENTS", "DEFAULT_COMPONENTS", "CrossFitted", "FillerRules", "PersonalizedRanker",
           "PopularityPredictor", "RankerPrior", "fit_prior", "fold_of", "read_prior", "write_prior"]
