"""Evaluation: the engine (one loop over any predictor), the run store (resumable prediction files),
scoring and the six error types, batch requests, and the code behind notebooks 07 and 10."""
