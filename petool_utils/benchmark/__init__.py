"""The benchmark itself: typed records of the release layout (:mod:`.data`), the evaluation prompts
rendered from them byte for byte (:mod:`.prompts`), and turning a model's text into a call (:mod:`.parsing`)."""
