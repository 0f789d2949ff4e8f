"""environment.yml must mirror pyproject.toml: conda is not available on the CI machines, so only this
test keeps the conda route honest."""

import re
import tomllib

import yaml

from petool_utils.paths import REPO_ROOT


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(map(_norm, py["dependencies"]))
    for extra in py["optional-dependencies"].values():
        wanted |= set(map(_norm, extra))
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    have = {_norm(x) for x in pip if x != "-e ."}
    assert have == wanted, f"only in pyproject: {sorted(wanted - have)}; only in environment.yml: {sorted(have - wanted)}"
    assert "-e ." in pip


def test_torch_pinned_to_the_cpu_build_on_disk():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in py["dependencies"]
