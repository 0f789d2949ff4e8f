"""The LLM seam and its backends (OpenAI-compatible servers, local Hugging Face models, the offline
stand-in of the construction stages, the tiny test model), and the embedders."""
