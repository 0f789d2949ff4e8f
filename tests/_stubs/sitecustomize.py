"""TEST-ONLY stand-ins for modules other branches are building (scoring, evaluate, error_analysis).

Until those branches are merged, notebooks 07 and 10 import names that do not exist yet. A test puts
this folder on PYTHONPATH; Python then imports this file at start-up (kernels included) and it appends
``petool_utils_stubs`` to the *end* of ``petool_utils.__path__``: a real module, once merged, is found
first and the stub is never used. Nothing here is part of petool.
"""

from pathlib import Path


def _install() -> None:
    try:
        import petool_utils
    except ImportError:
        return
    stub_dir = str(Path(__file__).resolve().parent / "petool_utils_stubs")
    if stub_dir not in petool_utils.__path__:
        petool_utils.__path__.append(stub_dir)


_install()
