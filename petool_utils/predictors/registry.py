"""The one way from a model spec to a predictor: the typed registry of offline predictors, and
:func:`make_predictor` for every evaluation kind.

``offline:<name>[@<argument>]`` is looked up in :data:`PREDICTORS` (a :class:`~petool_utils.models.spec.Registry`
of :class:`~petool_utils.predictors.base.Predictor` subclasses; the ranker's entries are lazy
``module:object`` strings, so its heavier imports wait until it is asked for). ``openai:`` and ``hf:``
specs become an :class:`~petool_utils.predictors.llm.LLMPredictor` over the backend
:func:`~petool_utils.models.base.make_llm` builds, behind the one response cache.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from petool_utils.models.base import make_llm
from petool_utils.models.cache import CachedLLM
from petool_utils.models.spec import ModelSpec, Registry
from petool_utils.predictors.base import Predictor, parse_crossfit
from petool_utils.predictors.llm import LLMPredictor

PREDICTORS: Registry[Predictor] = Registry("offline predictor", Predictor)
PREDICTORS.register("random", "petool_utils.predictors.baselines:RandomPredictor")
PREDICTORS.register("retrieval", "petool_utils.predictors.baselines:RetrievalPredictor")
PREDICTORS.register("history", "petool_utils.predictors.baselines:HistoryPredictor")
# offline:ranker (no population), offline:ranker@<prior.json>, offline:ranker@crossfit[:K]
PREDICTORS.register("ranker", "petool_utils.predictors.ranker:PersonalizedRanker")
# offline:popularity (cross-fitted, 2 folds), offline:popularity@crossfit:K, offline:popularity@<prior.json>
PREDICTORS.register("popularity", "petool_utils.predictors.ranker:PopularityPredictor")

CROSSFITTED: Registry[Predictor] = Registry("cross-fitted offline predictor", Predictor)
"""``offline:<name>@crossfit[:K]`` for a name listed here is this class, built with ``folds=K,
method=<name>``: the spec's one dispatch point, so that the single-prompt class (``PREDICTORS``) need not
import the cross-fitted one that is made of it. ``offline:popularity`` is cross-fitted by itself."""
CROSSFITTED.register("ranker", "petool_utils.predictors.ranker:CrossFitted")


def make_offline_predictor(name: str, **kwargs: Any) -> Predictor:
    """The offline predictor ``name`` (``ranker``, ``ranker@crossfit:3``...), built from the registry.

    ``name@crossfit[:K]`` for a name in :data:`CROSSFITTED` is that cross-fitted class; otherwise ``name@arg``
    hands ``arg`` to the class's ``from_spec`` (the ranker's prior file, popularity's ``crossfit:K``);
    a predictor without one takes no argument.
    """
    spec = ModelSpec.parse(f"offline:{name}")
    try:
        cls = PREDICTORS.get(spec.name)
        if spec.argument and spec.name in CROSSFITTED:
            folds = parse_crossfit(spec.argument, kwargs.pop("folds", None))
            if folds is not None:
                return CROSSFITTED.get(spec.name)(folds=folds, method=spec.name, **kwargs)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    except ImportError as exc:
        raise ValueError(str(exc)) from exc
    return cls.from_spec(spec.argument, **kwargs) if spec.argument else cls(**kwargs)


def make_predictor(spec: str | ModelSpec, *, concurrency: int = 16, gen_opts: Mapping[str, Any] | None = None,
                   cache_path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Predictor:
    """The predictor a spec names. LLM specs (``openai:``, ``hf:``) become an :class:`LLMPredictor` over
    the backend behind the one response cache (``cache_path``); ``kwargs`` go to the backend (``timeout``,
    ``retry`` for openai; ``max_context``, ``batch_size``, ``device``, ``quantization`` for hf) or to the
    offline predictor's constructor. ``gen_opts`` reach every request of an LLM; an offline predictor
    takes none (it has nothing to give them to)."""
    parsed = ModelSpec.parse(spec)
    if parsed.kind == "offline":
        if gen_opts:
            raise ValueError(f"{parsed.text}: offline predictors take no generation options (got {sorted(gen_opts)})")
        return make_offline_predictor(parsed.rest, **kwargs)
    if parsed.kind == "openai":
        kwargs.setdefault("concurrency", concurrency)
    if cache_path is None:
        raise ValueError(f"{parsed.text}: an LLM predictor needs a cache_path (the engine passes "
                         "OUT/.cache/responses.sqlite)")
    return LLMPredictor(CachedLLM(make_llm(parsed, **kwargs), cache_path), gen_opts)
