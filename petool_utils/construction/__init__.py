"""Benchmark construction (the paper's Section 3.2): from a ToolBench tool corpus to a PEToolBench-style
benchmark. One module per stage; notebooks 01-06 call them, every artifact lands under ``run_dir``.

Stages: :mod:`.toolbench` (load + filters), :mod:`.understanding` (tool-use example, functionality and
non-functional descriptions), :mod:`.clustering` (functionality groups), :mod:`.preferences` (users),
:mod:`.histories` (interaction histories and new instructions), :mod:`.candidates`, :mod:`.export`
(release layout, SFT/DPO), :mod:`.statistics` (Table 3, Figure 4).
"""

from petool_utils.paths import PACKAGE_ROOT

BUILTIN_TOOLS_DIR = PACKAGE_ROOT / "petool_utils" / "resources" / "toolcorpus"
"""The corpus shipped with petool (fictional providers), used when a profile's ``tools_dir`` is null."""
BUILTIN_LABELS = PACKAGE_ROOT / "petool_utils" / "resources" / "toolcorpus_func_labels.json"
"""Functionality labels of the built-in corpus (known by construction), to score clustering on it."""
