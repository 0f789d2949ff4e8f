"""Run a profile's notebooks headless with papermill and turn them into an HTML report.

The notebooks are the user-facing program; this module only executes them the way a user would
(cwd = repository root, ``petool_utils`` importable, kernel ``python3``), gives each exactly the
parameters its ``parameters`` cell declares, and publishes the executed copies as HTML next to an
``index.html`` assembled from the report fragments the notebooks wrote (see ``petool_utils.report.fragments``).
Every file it writes is scrubbed of secret environment values first (``petool_utils.secrets``).
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import json
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import BaseModel

from petool_utils import __version__
from petool_utils.report.fragments import fragments_need_plotly, load_fragments, render_block
from petool_utils.io import atomic_write_json, atomic_write_text, read_json
from petool_utils.paths import REPO_ROOT
from petool_utils.params import Profile, load_profile
from petool_utils.report.explorer import EXPLORER_FILE
from petool_utils.report.machine_paths import strip_machine_paths
from petool_utils.secrets import redact_text, redact_tree, secret_env_values

log = logging.getLogger("petool.runner")

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNEL = "python3"
STATUS_FILE = "status.json"
PLOTLY_FILE = "plotly.min.js"
"""The one copy of plotly.js of a report, beside its pages (each page loads it with a relative
``<script src>``, which works from ``file://``); 4.8 MB once instead of once per page."""


HEARTBEAT_S = 30.0
"""How often a running notebook's entry in status.json says it is still alive (``last_seen_utc``)."""


class Attempt(BaseModel):
    """An earlier run of a notebook that never finished (killed, session over): when it started and when the
    runner last saw it alive, so a notebook resumed across sittings reports all its time."""

    started_utc: str
    last_seen_utc: str | None = None

    @property
    def seconds(self) -> float:
        if not self.last_seen_utc:
            return 0.0
        return max(0.0, (_dt.datetime.fromisoformat(self.last_seen_utc)
                         - _dt.datetime.fromisoformat(self.started_utc)).total_seconds())


class NotebookRun(BaseModel):
    """What happened to one notebook of the profile. ``running`` in status.json while it runs; an entry still
    ``running`` when the next run starts is an attempt that was killed, kept in the next one's ``interrupted``."""

    notebook: str
    status: Literal["ok", "failed", "missing", "not-run", "running"]
    started_utc: str | None = None
    duration_s: float | None = None
    error: str | None = None
    executed: str | None = None
    html: str | None = None
    parameters: list[str] = []
    redacted: int = 0
    last_seen_utc: str | None = None
    interrupted: list[Attempt] = []

    @property
    def interrupted_s(self) -> float:
        return sum(a.seconds for a in self.interrupted)

    def attempts_so_far(self) -> list[Attempt]:
        """The interrupted attempts a new run of this notebook continues from: this entry's own, plus this
        entry itself when it never finished. A finished entry (ok, failed) starts none."""
        if self.status != "running" or not self.started_utc:
            return []
        return [*self.interrupted, Attempt(started_utc=self.started_utc, last_seen_utc=self.last_seen_utc)]


class RunResult(BaseModel):
    profile: str
    runs: list[NotebookRun]
    index: str

    @property
    def failed(self) -> list[NotebookRun]:
        return [r for r in self.runs if r.status == "failed"]


# ----------------------------------------------------------------------------- selection

def select_notebooks(names: Sequence[str], only: str | Sequence[str] | None) -> list[str]:
    """``only="07,10"`` keeps the notebooks whose number prefix (or full name) is listed, in profile order."""
    if not only:
        return list(names)
    tokens = [t.strip() for t in (only.split(",") if isinstance(only, str) else only) if t.strip()]
    chosen: list[str] = []
    for t in tokens:
        hits = [n for n in names if n == t or n.split("_", 1)[0] == t or n.split("_", 1)[0] == t.zfill(2)]
        if not hits:
            raise ValueError(f"--only {t!r}: no such notebook in the profile (has: {', '.join(names)})")
        chosen.extend(hits)
    return [n for n in names if n in set(chosen)]


def declared_parameters(nb_path: Path) -> set[str]:
    """The names the notebook's ``parameters`` cell declares (papermill's own reading of it)."""
    import papermill

    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    pm_log.setLevel(logging.WARNING)  # inspecting is not executing: no "Input Notebook" line for it
    try:
        return set(papermill.inspect_notebook(str(nb_path)).keys())
    finally:
        pm_log.setLevel(level)


def notebook_parameters(profile: Profile, notebook: str, declared: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Common keys + the notebook's section, filtered to what it declares; also the section's
    undeclared keys, which are almost always typos worth a warning."""
    section = profile.params.get(notebook, {})
    params = {k: v for k, v in profile.notebook_params(notebook).items() if k in declared}
    return params, sorted(set(section) - declared)


# ----------------------------------------------------------------------------- execution

@contextmanager
def _kernel_environment(root: Path) -> Iterator[None]:
    """The kernel inherits our environment: put the repo root on PYTHONPATH for its lifetime."""
    old = os.environ.get("PYTHONPATH")
    parts = [str(root)] + ([old] if old else [])
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _publish(path: Path) -> Path:
    """Atomic writes go through ``mkstemp`` (mode 0600); a report is meant to be read by others (a web
    server, a colleague), so give it the usual umask-based mode."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
    return path


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def share_plotly(page: str) -> tuple[str, bool]:
    """Replace the copy of plotly.js that plotly's ``notebook`` renderer inlined into a page by a
    ``<script src>`` of the report's shared :data:`PLOTLY_FILE`; True when the page uses plotly."""
    inline = f"<script>{_plotly_js()}</script>"
    if inline in page:
        return page.replace(inline, f'<script src="{PLOTLY_FILE}"></script>'), True
    return page, f'src="{PLOTLY_FILE}"' in page


CARTESIAN_BUNDLE = Path(__file__).resolve().parent.parent / "resources" / "vendor" / "plotly-cartesian-4.1.1.min.js"
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                              "image", "pie", "scatter", "scatterternary", "violin"})
"""The trace types of the vendored cartesian bundle (see petool_utils/resources/vendor/README.md)."""


def trace_types(page: str) -> set[str]:
    """The trace types a page's figures draw: the ``type`` of each trace in the data argument of every
    ``Plotly.newPlot(id, data, layout)`` (the layout's template names every type; those are not drawn)."""
    decoder = json.JSONDecoder()
    out: set[str] = set()
    for m in re.finditer(r"Plotly\.newPlot\(\s*", page):
        try:
            _, k = decoder.raw_decode(page, m.end())  # the div id
            k = page.index(",", k) + 1
            while page[k].isspace():
                k += 1
            data, _ = decoder.raw_decode(page, k)
        except (ValueError, IndexError):
            out.add("unknown")  # not plotly's own call: the full bundle, to be safe
            continue
        out.update(str(t.get("type", "scatter")) for t in data if isinstance(t, dict))
    return out


def plotly_bundle(pages: Sequence[str]) -> str:
    """The plotly.js a report needs: the vendored cartesian bundle (1.5 MB) when every figure of its
    pages is a cartesian trace, else the full bundle of the ``plotly`` package (4.8 MB). Both are the
    same plotly.js version (checked by a test)."""
    used = {t for page in pages for t in trace_types(page)}
    if used - CARTESIAN_TRACES or not CARTESIAN_BUNDLE.exists():
        return _plotly_js()
    return CARTESIAN_BUNDLE.read_text(encoding="utf-8")


def write_plotly(report_dir: Path) -> Path:
    """The report's one ``plotly.min.js``, for the figures of every page now in ``report_dir`` (rewritten
    only when that changes: pages of several runs share it)."""
    report_dir = Path(report_dir)
    pages = [p.read_text(encoding="utf-8") for p in sorted(report_dir.glob("*.html"))
             if p.name != "entries.html" and f'src="{PLOTLY_FILE}"' in p.read_text(encoding="utf-8")]
    js = plotly_bundle(pages)
    path = report_dir / PLOTLY_FILE
    if not path.exists() or path.read_text(encoding="utf-8") != js:
        _publish(atomic_write_text(path, js))
    return path


_STYLE = re.compile(r'<style type="text/css">(.*?)</style>', re.S)
SHARED_STYLE_MIN = 10_000
"""Inline style sheets longer than this (nbconvert's JupyterLab theme, 240 KB a page) go into one
shared file per report."""


def minify_css(css: str) -> str:
    """Comments out, whitespace runs collapsed, no spaces around braces and semicolons (a fifth off
    nbconvert's theme; the rules themselves are untouched)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};])\s*", r"\1", css).strip()


def share_styles(page: str, report_dir: Path) -> str:
    """Move the page's big inline style sheets (the same on every notebook page) into
    ``notebook-<sha8>.css`` beside it, linked from the page; the name changes with the content, so
    pages of two nbconvert versions never share a wrong sheet."""
    import hashlib

    end = page.find("</head>")
    if end < 0:
        return page
    head = page[:end]
    big = [m for m in _STYLE.finditer(head) if len(m.group(1)) > SHARED_STYLE_MIN]
    if not big:
        return page
    css = minify_css("\n".join(m.group(1) for m in big))
    name = f"notebook-{hashlib.sha256(css.encode('utf-8')).hexdigest()[:8]}.css"
    path = Path(report_dir) / name
    if not path.exists():
        _publish(atomic_write_text(path, css))
    for m in reversed(big[1:]):
        head = head[:m.start()] + head[m.end():]
    first = big[0]
    head = head[:first.start()] + f'<link rel="stylesheet" href="{name}">' + head[first.end():]
    return head + page[end:]


def publish_page(text: str, path: Path, secrets: dict[str, str]) -> tuple[Path, int]:
    """The last step of every page of the report: secrets out, the machine's absolute paths made
    relative to the project, plotly.js shared; written atomically, readable by others."""
    text, n = redact_text(text, secrets)
    text, uses_plotly = share_plotly(strip_machine_paths(text))
    out = _publish(atomic_write_text(path, share_styles(text, path.parent)))
    if uses_plotly:
        write_plotly(path.parent)
    return out, n


def notebook_to_html(nb: Any, no_input: bool = False, title: str | None = None) -> str:
    """nbconvert's lab template; code stays visible unless ``no_input`` (a clean, prose-only report)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=no_input, exclude_input_prompt=no_input,
                            exclude_output_prompt=no_input)
    if title:
        nb.metadata["title"] = title
    # ipywidgets' saved state (tqdm bars) is dead weight on a static page: its views need a widget manager
    # from a CDN; without the state the bars show their text form. 170 KB on notebook 09 alone.
    nb.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def execute_notebook(nb_path: Path, executed_path: Path, html_path: Path, parameters: dict[str, Any], *,
                     cwd: Path = REPO_ROOT, kernel: str = KERNEL, no_input: bool = False,
                     progress: bool = True, secrets: dict[str, str] | None = None) -> NotebookRun:
    """Execute one notebook, then write its scrubbed executed copy and HTML.

    Papermill saves the output notebook while it runs; that happens in a private temporary folder, so
    an unscrubbed copy never appears under the run folder, even if the run is killed.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    secrets = secret_env_values() if secrets is None else secrets
    name = nb_path.stem
    started = _now()
    t0 = time.monotonic()
    status, error = "ok", None
    with tempfile.TemporaryDirectory(prefix="petool-nb-") as tmp:
        tmp_out = Path(tmp) / nb_path.name
        with _kernel_environment(REPO_ROOT):
            try:
                papermill.execute_notebook(str(nb_path), str(tmp_out), parameters=parameters, kernel_name=kernel,
                                           cwd=str(cwd), progress_bar=progress, request_save_on_cell_execute=True)
            except PapermillExecutionError as exc:
                status, error = "failed", f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            except Exception as exc:  # kernel died, bad notebook JSON, ...: report it, keep the others going
                status, error = "failed", f"{type(exc).__name__}: {exc}"
        raw = tmp_out.read_text(encoding="utf-8") if tmp_out.exists() else None
    n_red = 0
    if raw is not None:
        raw, n_red = redact_text(raw, secrets)
        _publish(atomic_write_text(executed_path, raw))
        nb = nbformat.reads(raw, as_version=4)
        _, n2 = publish_page(notebook_to_html(nb, no_input=no_input, title=name), html_path, secrets)
        n_red += n2
    if error:
        error, _ = redact_text(error, secrets)
    if n_red:
        log.warning("%s: %d secret value(s) from the environment were redacted from its outputs", name, n_red)
    return NotebookRun(notebook=name, status=status, started_utc=started, duration_s=round(time.monotonic() - t0, 2),
                       error=error, executed=str(executed_path) if raw is not None else None,
                       html=html_path.name if raw is not None else None, parameters=sorted(parameters),
                       redacted=n_red)


def _status_path(profile: Profile) -> Path:
    return profile.run_dir / "notebooks" / STATUS_FILE


def read_status(profile: Profile) -> dict[str, NotebookRun]:
    p = _status_path(profile)
    if not p.exists():
        return {}
    try:
        return {k: NotebookRun.model_validate(v) for k, v in read_json(p).items()}
    except (ValueError, TypeError):
        log.warning("%s is unreadable; notebook statuses start afresh", p)
        return {}


@contextmanager
def heartbeat(entry: NotebookRun, write: Any, interval: float | None = None) -> Iterator[None]:
    """While the block runs, set ``entry.last_seen_utc`` and call ``write()`` every ``interval`` seconds (a
    daemon thread), so that a run killed in the block leaves a status.json that says how long it lasted."""
    stop = threading.Event()
    every = HEARTBEAT_S if interval is None else interval

    def beat() -> None:
        while not stop.wait(every):
            entry.last_seen_utc = _now()
            try:
                write()
            except OSError as exc:  # a full disk must not kill the notebook it watches
                log.warning("status heartbeat not written: %s", exc)

    t = threading.Thread(target=beat, name=f"petool-heartbeat-{entry.notebook}", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def run_profile(profile: Profile | str | os.PathLike[str], only: str | Sequence[str] | None = None,
                notebooks_dir: Path = NOTEBOOKS_DIR, *, no_input: bool = False, keep_going: bool = False,
                kernel: str = KERNEL, progress: bool = True) -> RunResult:
    """Execute the profile's notebooks in order (or those ``only`` names) and build the index.

    A notebook missing from ``notebooks_dir`` is skipped with a logged note (the stages arrive one
    branch at a time). A failed notebook stops the run unless ``keep_going``: later stages read its
    files, so running them would only bury the first error under others. The index is built either way.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    names = select_notebooks(prof.notebooks, only)
    secrets = secret_env_values()
    status = read_status(prof)

    def write_status() -> None:
        atomic_write_json(_status_path(prof), {k: v.model_dump() for k, v in status.items()})

    runs: list[NotebookRun] = []
    try:
        for i, name in enumerate(names):
            nb_path = Path(notebooks_dir) / f"{name}.ipynb"
            if not nb_path.exists():
                log.warning("%s: %s not found; skipped (not written yet?)", name, nb_path)
                runs.append(NotebookRun(notebook=name, status="missing", error=f"{nb_path} not found"))
                status[name] = runs[-1]
                continue
            t_start = time.time()
            try:
                declared = declared_parameters(nb_path)
            except Exception as exc:  # not a notebook papermill can read: that notebook failed, the rest go on
                run = NotebookRun(notebook=name, status="failed", error=f"cannot read the notebook: {type(exc).__name__}: {exc}")
            else:
                params, undeclared = notebook_parameters(prof, name, declared)
                if undeclared:
                    log.warning("%s: params.%s.%s not declared by its parameters cell; ignored", name, name,
                                ",".join(undeclared))
                log.info("[%d/%d] %s (%s)", i + 1, len(names), name, ", ".join(f"{k}={v!r}" for k, v in params.items()))
                earlier = status[name].attempts_so_far() if name in status else []
                now = _now()
                status[name] = NotebookRun(notebook=name, status="running", started_utc=now, last_seen_utc=now,
                                           interrupted=earlier)
                if earlier:
                    log.info("%s: continues %d interrupted run(s), %.1f min in all", name, len(earlier),
                             status[name].interrupted_s / 60)
                write_status()
                with heartbeat(status[name], write_status):
                    run = execute_notebook(nb_path, prof.run_dir / "notebooks" / f"{name}.ipynb",
                                           prof.report_dir / f"{name}.html", params, kernel=kernel,
                                           no_input=no_input, progress=progress, secrets=secrets)
                run.interrupted = earlier
            # Whatever the notebook itself wrote (fragments, metrics, manifests) is scrubbed too.
            changed = redact_tree([prof.run_dir, prof.report_dir], secrets, newer_than=t_start - 1)
            if changed:
                log.warning("%s: redacted secret values from %d file(s): %s", name, len(changed),
                            ", ".join(str(p) for p in changed))
                run.redacted += sum(changed.values())
            runs.append(run)
            status[name] = run
            write_status()
            if run.status == "failed":
                log.error("%s failed: %s (executed copy: %s)", name, run.error, run.executed)
                if not keep_going:
                    break
    finally:
        # The index is written whatever happened above: a failed notebook shows as failed, never stops it.
        done = {r.notebook for r in runs}
        runs.extend(NotebookRun(notebook=n, status="not-run") for n in names if n not in done)
        write_status()
        index = build_index(prof)
    return RunResult(profile=prof.profile, runs=runs, index=str(index))


# ----------------------------------------------------------------------------- index page

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d2733}
h1{margin-bottom:.2rem} h2{border-bottom:2px solid #e3e8ef;padding-bottom:.3rem;margin-top:2.5rem}
.meta{color:#5b6b7d;font-size:.9rem}
table.petool-table{border-collapse:collapse;margin:1rem 0;font-size:.88rem}
table.petool-table caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
table.petool-table th,table.petool-table td{border:1px solid #d5dce5;padding:.3rem .55rem;text-align:left;vertical-align:top}
table.petool-table th{background:#f1f4f8}
table.petool-table td:first-child{min-width:11rem}
table.petool-table td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.paper td{color:#4a5a6a;background:#fafbfc}
tr.ours td{background:#eef7ee;font-weight:600}
tr.baseline td{background:#fffaf0}
.status-ok{color:#1d7a36;font-weight:600} .status-failed{color:#b3261e;font-weight:600}
.status-missing,.status-not-run,.status-running{color:#8a6d00}
.caption{color:#5b6b7d;font-size:.88rem;margin-top:.2rem}
.problem{color:#b3261e}
code{background:#f1f4f8;padding:0 .2rem}
nav.toc ol{columns:2;column-gap:2rem;padding-left:1.4rem} nav.toc li{margin:.15rem 0;break-inside:avoid}
a.anchor{color:#b0bac6;text-decoration:none;font-size:.8em;margin-left:.3rem} a.anchor:hover{color:#3366cc}
.table-scroll{overflow-x:auto;max-width:100%}
table.petool-table tr.group th{background:#e3e8ef;text-align:left;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;color:#3d4b5a;margin:-.5rem 0 1rem}
.legend span.swatch{display:inline-block;width:1.6em;height:1em;border:1px solid #d5dce5;vertical-align:middle;margin-right:.3rem}
.legend .paper{background:#fafbfc} .legend .ours{background:#eef7ee} .legend .baseline{background:#fffaf0}
.legend .measured{background:#fff}
p.explorer{background:#f1f4f8;padding:.5rem .8rem;border-radius:4px}
.petool-block{overflow-x:auto;max-width:100%}
"""


def _git_commit(root: Path = REPO_ROOT) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _slug(text: str, taken: set[str]) -> str:
    """A heading's anchor: lower-case words joined by '-', unique on the page."""
    import re

    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


def _first(frag: Any) -> bool:
    """Table 1 is what a reader comes for: it goes right after the contents, whatever its stage."""
    return frag.title.lower().startswith("table 1")


def build_index(profile: Profile | str | os.PathLike[str]) -> Path:
    """Write ``<report_dir>/index.html``: contents, Table 1, the other sections the notebooks wrote in
    stage order, then the notebook pages' status.

    Built from files alone (status file, HTML pages, fragments), so ``--only 10`` still yields an index
    that links the pages of earlier runs. plotly.js comes from the report's one shared copy."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    status = read_status(prof)
    frags, problems = load_fragments(prof.run_dir)
    frags = [f for f in frags if _first(f)] + [f for f in frags if not _first(f)]
    rows = []
    for name in prof.notebooks:
        st = status.get(name)
        page = prof.report_dir / f"{name}.html"
        link = f'<a href="{_html.escape(page.name)}">{_html.escape(name)}</a>' if page.exists() else _html.escape(name)
        state = st.status if st else ("not-run" if not page.exists() else "ok")
        when = _html.escape(st.started_utc or "") if st else ""
        dur = f"{st.duration_s:.1f} s" if st and st.duration_s is not None else ""
        if st and st.interrupted:
            dur += f" (+ {st.interrupted_s / 60:.1f} min in {len(st.interrupted)} interrupted run(s))"
        err = f'<br><span class="problem">{_html.escape(st.error)}</span>' if st and st.error and state == "failed" else ""
        rows.append(f"<tr><td>{link}{err}</td><td class=\"status-{state}\">{state}</td><td>{when}</td><td class=\"num\">{dur}</td></tr>")
    taken = {"contents", "notebooks"}
    sections, toc = [], []
    for k, f in enumerate(frags):
        anchor = _slug(f.title, taken)
        blocks = "".join(render_block(b, f"fig-{k}-{j}") for j, b in enumerate(f.blocks))
        src = ""
        if f.notebook:
            page = prof.report_dir / f"{f.notebook}.html"
            name = _html.escape(f.notebook)
            src = (f' <span class="meta">(from <a href="{_html.escape(page.name)}">{name}</a>)</span>' if page.exists()
                   else f' <span class="meta">(from {name})</span>')
        sections.append(f'<section id="{anchor}"><h2>{_html.escape(f.title)}{src} <a class="anchor" href="#{anchor}">#</a>'
                        f"</h2>{blocks}</section>")
        toc.append(f'<li><a href="#{anchor}">{_html.escape(f.title)}</a></li>')
    if problems:
        items = "".join(f"<li class=\"problem\">{_html.escape(p)}</li>" for p in problems)
        sections.append(f'<section id="unreadable"><h2>Fragments that could not be read</h2><ul>{items}</ul></section>')
        toc.append('<li><a href="#unreadable">Fragments that could not be read</a></li>')
    if not frags:
        sections.append("<p class=\"meta\">No report fragments yet: run the evaluation notebooks (07, 10).</p>")
    explorer = ""
    if (prof.report_dir / EXPLORER_FILE).exists():
        explorer = (f'<p class="explorer"><a href="{EXPLORER_FILE}"><b>Entry explorer</b></a>: every answer of every '
                    "model, entry by entry, coloured by error type, with the user's histories and the candidates.</p>")
        toc.append(f'<li><a href="{EXPLORER_FILE}">Entry explorer ({EXPLORER_FILE})</a></li>')
    toc.append('<li><a href="#notebooks">Notebooks: pages, status and time</a></li>')
    plotly_js = f'<script src="{PLOTLY_FILE}"></script>' if fragments_need_plotly(frags) else ""
    now = _now()
    commit = _git_commit()
    meta = (f"profile <code>{_html.escape(prof.profile)}</code> ({_html.escape(str(prof.source or ''))}) · "
            f"petool {__version__}{' · commit ' + _html.escape(commit) if commit else ''} · built {now}")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>petool report: {_html.escape(prof.profile)}</title>
<style>{_CSS}</style>{plotly_js}</head>
<body>
<h1>petool report: {_html.escape(prof.profile)}</h1>
<p class="meta">{meta}</p>
<p>Reproduction of <em>PEToolLLM: Towards Personalized Tool Learning in Large Language Models</em>.
Rows and series marked as offline baselines or stand-ins are CPU baselines, not the models of the paper; rows marked "petool ranker (ours)" are petool's own method (offline, no LLM), not a stand-in.</p>
{explorer}
<nav id="contents" class="toc"><h2>Contents</h2><ol>{''.join(toc)}</ol></nav>
{''.join(sections)}
<section id="notebooks"><h2>Notebooks <a class="anchor" href="#notebooks">#</a></h2>
<div class="table-scroll"><table class="petool-table"><thead><tr><th>notebook</th><th>status</th><th>started (UTC)</th><th>time</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></div></section>
</body></html>
"""
    index, n = publish_page(page, prof.report_dir / "index.html", secret_env_values())
    if n:
        log.warning("index.html: %d secret value(s) redacted", n)
    return index
