"""The one model loader's quantization rule, shared by the hf backend and training."""

from __future__ import annotations

import pytest

from petool_utils.models import loading
from petool_utils.training import config, modeling


def test_one_quantization_rule():
    assert [loading.use_4bit(q, "cpu") for q in ("auto", "4bit", "none")] == [False, True, False]
    assert [loading.use_4bit(q, "cuda") for q in ("auto", "4bit", "none")] == [True, True, False]
    with pytest.raises(ValueError, match="quantization must be one of auto, 4bit, none, not '8bit'"):
        loading.use_4bit("8bit", "cpu")
    # training and the training config use the same rule and the same names, not copies
    assert modeling.use_4bit is loading.use_4bit and config.QUANTIZATIONS is loading.QUANTIZATIONS
    with pytest.raises(ValueError, match="quantization must be one of"):
        config.from_mapping("sft", {"quantization": "8bit"})


def test_a_missing_model_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Hugging Face model folder there"):
        loading.load_causal_lm(tmp_path / "nothing", quantization="none", device="cpu")
