"""Secret scrubbing: which variables count, every form a value takes in a notebook or page."""

from __future__ import annotations

import json
import os
import time

from petool_utils.secrets import redact_obj, redact_text, redact_tree, secret_env_values, secrets_in

KEY = 'sk-abc"123/xyz<>&long'


def test_which_environment_variables_are_secrets():
    env = {"OPENAI_API_KEY": "sk-0123456789", "HF_TOKEN": "hf_abcdefghij", "MY_SECRET": "s3cr3t-value",
           "TOKENIZERS_PARALLELISM": "false", "SOME_KEY": "1", "PATH": "/usr/bin:/bin/very/long"}
    assert secret_env_values(env) == {"OPENAI_API_KEY": "sk-0123456789", "HF_TOKEN": "hf_abcdefghij",
                                      "MY_SECRET": "s3cr3t-value"}


def test_plain_json_and_html_forms_are_replaced():
    secrets = {"OPENAI_API_KEY": KEY}
    text = f"raw {KEY} json {json.dumps(KEY)} html {KEY.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace(chr(34), '&quot;')}"
    out, n = redact_text(text, secrets)
    assert n == 3 and KEY not in out and out.count("[redacted:$OPENAI_API_KEY]") == 3
    assert "sk-abc" not in out


def test_longer_secret_containing_a_shorter_one_is_replaced_whole():
    out, n = redact_text("A=prefix-0123456789-suffix", {"SHORT_KEY": "0123456789", "LONG_KEY": "prefix-0123456789-suffix"})
    assert out == "A=[redacted:$LONG_KEY]" and n == 1


def test_tree_scrubs_text_artifacts_only_and_respects_newer_than(tmp_path):
    secrets = {"X_TOKEN": "tok-123456789"}
    old = tmp_path / "old.json"
    old.write_text('{"t": "tok-123456789"}')
    past = time.time() - 100
    os.utime(old, (past, past))
    new = tmp_path / "sub" / "page.html"
    new.parent.mkdir()
    new.write_text("<p>tok-123456789 tok-123456789</p>")
    binary = tmp_path / "emb.npy"
    binary.write_bytes(b"tok-123456789")
    changed = redact_tree([tmp_path], secrets, newer_than=time.time() - 10)
    assert changed == {new: 2}
    assert "tok-" not in new.read_text() and "tok-" in old.read_text()
    assert redact_tree([tmp_path], secrets) == {old: 1}
    assert binary.read_bytes() == b"tok-123456789"


def test_only_whole_tokens_of_at_least_eight_characters_are_secrets():
    secrets = {"OPENAI_API_KEY": "a", "HF_TOKEN": "hf_abcdefgh", "X_KEY": "password"}
    text = "a banana; hf_abcdefgh; hf_abcdefghij; mypasswords; (password)"
    out, n = redact_text(text, secrets)
    assert out == "a banana; [redacted:$HF_TOKEN]; hf_abcdefghij; mypasswords; ([redacted:$X_KEY])" and n == 2
    assert secrets_in(text, secrets) == ["HF_TOKEN", "X_KEY"]
    assert redact_obj({"api_key": "x", "note": ["hf_abcdefgh"], "n": 1}, secrets) == \
        {"note": ["[redacted:$HF_TOKEN]"], "n": 1}
