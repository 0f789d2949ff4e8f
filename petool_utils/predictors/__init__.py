"""Predictors: one contract (:class:`~petool_utils.predictors.base.Predictor`), raw text out, every output
scored by the same parser. LLM-backed predictors render the benchmark prompt for any LLM backend
(:mod:`.llm`); the offline baselines (:mod:`.baselines`) and petool's ranker (:mod:`.ranker`) are
predictors like any other.
"""
