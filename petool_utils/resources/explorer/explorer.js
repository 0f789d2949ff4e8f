// petool entry explorer: decodes the page's gzip+base64 data blob, then filters and renders lazily.
// Plain browser APIs only (DecompressionStream, IntersectionObserver): it works from file://.
"use strict";
(async function () {
  const status = document.getElementById("status");
  const CHUNK = 100;
  let D;
  try {
    const b64 = document.getElementById("petool-data").textContent.trim();
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    D = JSON.parse(await new Response(stream).text());
  } catch (err) {
    status.textContent = "Could not read the page's data: " + err;
    return;
  }
  const S = D.strings, IT = D.items, P = ["preferred", "ratings", "chronological"];
  const TYPES = D.types;
  // Entries: [bench, id, query, refTool, refParams, group, histories, candidates, popularity, historyLength]
  const E = D.entries.map((a, i) => ({i, b: a[0], id: a[1], q: a[2], ql: a[2].toLowerCase(), rt: a[3], rp: a[4],
    g: a[5], h: a[6], c: a[7], pop: a[8], hl: a[9], cells: {}}));
  // Samples: [entry, model, setting, type (-1 right), parsed, response, answer, historyShown, promptSha, requestError]
  for (const s of D.samples) E[s[0]].cells[s[1] + "|" + s[2]] = s;
  const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const short = (name) => { const m = /^<[^>]*>\.<(.*)>\.<(.*)>$/.exec(name || ""); return m ? m[1] + "." + m[2] : (name || ""); };
  const typeOf = (s) => (s ? (s[3] < 0 ? "ok" : TYPES[s[3]]) : "none");
  const J = (v) => JSON.stringify(v);
  const critical = (e, settings) => settings.some((st) => P.includes(st) && e.pop[st] != null && e.pop[st] !== e.rt);

  // ---------------------------------------------------------------- filters (state mirrored in the URL fragment)
  const state = {bench: "", model: "", setting: "", type: "", group: "", q: "", critical: false, open: ""};
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) if (k in state) state[k] = k === "critical" ? v === "1" : v;
  const opt = (v, label, cur) => `<option value="${esc(v)}"${v === cur ? " selected" : ""}>${esc(label)}</option>`;
  const groups = [...new Set(E.map((e) => e.g))].sort((a, b) => (+a - +b) || a.localeCompare(b));
  const f = document.getElementById("filters");
  f.innerHTML =
    (D.benchmarks.length > 1 ? `<label>benchmark <select id="f-bench">${opt("", "all", state.bench)}${D.benchmarks.map((b, i) => opt(String(i), b, state.bench)).join("")}</select></label>` : "") +
    `<label>model <select id="f-model">${opt("", "all models", state.model)}${D.models.map((m) => opt(m, m, state.model)).join("")}</select></label>` +
    `<label>setting <select id="f-setting">${opt("", "all settings", state.setting)}${D.settings.map((s) => opt(s, s, state.setting)).join("")}</select></label>` +
    `<label>error type <select id="f-type">${opt("", "any", state.type)}${opt("ok", "right (no error)", state.type)}${opt("wrong", "wrong (any type)", state.type)}${TYPES.map((t, k) => opt(t, t + ": " + D.meanings[k].split(":")[0], state.type)).join("")}</select></label>` +
    `<label>functionality group <select id="f-group">${opt("", "all groups", state.group)}${groups.map((g) => opt(g, g, state.group)).join("")}</select></label>` +
    `<label><input type="checkbox" id="f-critical"${state.critical ? " checked" : ""}> personalization-critical (popularity's pick is not the reference)</label>` +
    `<label>search <input type="search" id="f-q" placeholder="words of the query" value="${esc(state.q)}"></label>` +
    `<span id="count"></span>`;
  document.getElementById("legend").innerHTML = '<span><b>Cell colours:</b></span>' +
    `<span><span class="chip t-ok">✓</span>right</span>` +
    TYPES.map((t, k) => `<span title="${esc(D.meanings[k])}"><span class="chip t-${t}">${t}</span>${esc(D.meanings[k].split(":")[0])}</span>`).join("") +
    `<span><span class="chip t-none">·</span>not asked</span>`;

  const tbody = document.querySelector("#entries tbody"), thead = document.querySelector("#entries thead");
  let matched = [], shown = 0, columns = [];

  function visibleColumns() {
    const ms = state.model ? [D.models.indexOf(state.model)] : D.models.map((_, k) => k);
    const ss = state.setting ? [D.settings.indexOf(state.setting)] : D.settings.map((_, k) => k);
    const cols = [];
    for (const m of ms) for (const s of ss) if (m >= 0 && s >= 0) cols.push([m, s]);
    return cols;
  }
  function matches(e) {
    if (state.bench !== "" && String(e.b) !== state.bench) return false;
    if (state.group && e.g !== state.group) return false;
    if (state.q && !state.q.toLowerCase().split(/\s+/).every((w) => e.ql.includes(w))) return false;
    // personalization-critical: only the (model, setting) cells of settings where popularity's pick is not
    // the reference count, so "critical + right" means right where following popularity would be wrong
    const cols = state.critical ? columns.filter(([, s]) => critical(e, [D.settings[s]])) : columns;
    if (state.critical && !cols.length) return false;
    if (!state.type) return true;
    return cols.some(([m, s]) => {
      const t = typeOf(e.cells[m + "|" + s]);
      return state.type === "wrong" ? t !== "ok" && t !== "none" : t === state.type;
    });
  }
  function cell(e, m, s) {
    const c = e.cells[m + "|" + s], t = typeOf(c);
    if (!c) return `<td class="cell t-none">·</td>`;
    const what = c[4] ? short(c[4].tool_name) : (c[6] ? "<" + D.answers[c[6]] + ">" : "(no call)");
    const tip = `${D.models[m]}, ${D.settings[s]}: ${t === "ok" ? "right" : t}\n${c[4] ? J(c[4]) : (c[5] ?? "")}`;
    return `<td class="cell t-${t}" title="${esc(tip)}"><span class="chip t-${t}">${t === "ok" ? "✓" : t}</span>${esc(what)}</td>`;
  }
  function rowHtml(e) {
    const key = e.b + ":" + e.id;
    return `<tr class="row${state.open === key ? " open" : ""}" data-key="${esc(key)}">` +
      (D.benchmarks.length > 1 ? `<td>${esc(D.benchmarks[e.b].split(" ")[0])}</td>` : "") +
      `<td class="mono">${esc(e.id)}</td><td>${esc(e.g)}</td><td class="query">${esc(e.q)}</td>` +
      `<td class="ref" title="${esc(J({tool_name: e.rt, parameters: e.rp}))}">${esc(short(e.rt))}</td>` +
      columns.map(([m, s]) => cell(e, m, s)).join("") + "</tr>";
  }
  function header() {
    const multi = D.benchmarks.length > 1;
    thead.innerHTML = "<tr>" + (multi ? "<th>benchmark</th>" : "") + "<th>entry</th><th>group</th><th>query</th><th>reference</th>" +
      columns.map(([m, s]) => `<th title="${esc(D.labels[m])}">${esc(D.short[m])}<br><small>${esc(D.settings[s])}</small></th>`).join("") + "</tr>";
  }
  function renderMore() {
    const end = Math.min(matched.length, shown + CHUNK);
    const parts = [];
    for (let k = shown; k < end; k++) {
      const e = matched[k];
      parts.push(rowHtml(e));
      if (state.open === e.b + ":" + e.id) parts.push(detailHtml(e));
    }
    tbody.insertAdjacentHTML("beforeend", parts.join(""));
    shown = end;
    document.getElementById("more").textContent = shown < matched.length ? `showing ${shown} of ${matched.length}; scroll for more` : "";
  }
  function apply() {
    columns = visibleColumns();
    matched = E.filter(matches);
    shown = 0;
    tbody.innerHTML = "";
    header();
    document.getElementById("count").innerHTML = `<b id="n-matched">${matched.length}</b> of ${E.length} entries`;
    renderMore();
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v) p.set(k, v === true ? "1" : v);
    history.replaceState(null, "", "#" + p.toString());
  }

  // ---------------------------------------------------------------- one entry, opened
  function histHtml(e, st) {
    const h = e.h[st];
    if (!h) return "";
    const order = st === "chronological" ? " (oldest first; the later, the more preferred)" : st === "ratings" ? " (liked / disliked marked)" : " (liked tools only)";
    const group = new Set(e.c.filter((c) => c[2]).map((c) => S[c[0]]));
    const shownBy = D.models.map((m, k) => e.cells[k + "|" + D.settings.indexOf(st)]).filter(Boolean).map((c) => c[7]);
    const lis = h.map(([it, rating]) => {
      const [ins, tool, params] = IT[it];
      const mark = rating === 1 ? '<span class="liked">▲ liked</span> ' : rating === 0 ? '<span class="disliked">▼ disliked</span> ' : "";
      return `<li class="${group.has(S[tool]) ? "ingroup" : ""}">${mark}${esc(S[ins])}<br><code>${esc(short(S[tool]))} ${esc(J(params))}</code></li>`;
    }).join("");
    const shownNote = shownBy.length && Math.min(...shownBy) < h.length ? ` <small>(a model saw ${Math.min(...shownBy)} of them)</small>` : "";
    return `<div class="history" data-setting="${st}"><h3>${esc(st)} history: ${h.length} items${order}${shownNote}</h3><ol class="history">${lis}</ol></div>`;
  }
  function candHtml(e) {
    const lis = e.c.map(([n, d, g]) => {
      const name = S[n], pops = P.filter((st) => e.pop[st] === name);
      return `<li class="${g ? "ingroup" : ""}${name === e.rt ? " isref" : ""}"><code>${esc(name)}</code>` +
        (name === e.rt ? " <b>← reference</b>" : g ? " (reference's group)" : "") +
        (pops.length ? ` <i>popularity's pick in ${pops.join(", ")}</i>` : "") + `<br><small>${esc(S[d])}</small></li>`;
    }).join("");
    return `<div class="candidates"><h3>${e.c.length} candidates (highlighted: the reference's functionality group, group ${esc(e.g)})</h3><ul class="cands">${lis}</ul></div>`;
  }
  function answerHtml(e, m, s) {
    const c = e.cells[m + "|" + s];
    if (!c) return "";
    const t = typeOf(c), parsed = c[4];
    const keys = [...new Set([...Object.keys(e.rp || {}), ...Object.keys((parsed && parsed.parameters) || {})])];
    const same = (a, b) => J(a) === J(b);
    let rows = `<tr><th>tool_name</th><td class="mono">${esc(e.rt)}</td><td class="mono${parsed && parsed.tool_name === e.rt ? "" : " diff"}">${esc(parsed ? parsed.tool_name : "—")}</td></tr>`;
    for (const k of keys) {
      const inRef = e.rp && k in e.rp, inP = parsed && parsed.parameters && k in parsed.parameters;
      const diff = !(inRef && inP && same(e.rp[k], parsed.parameters[k]));
      rows += `<tr><th class="mono">${esc(k)}</th><td class="mono">${inRef ? esc(J(e.rp[k])) : "<i>absent</i>"}</td><td class="mono${diff ? " diff" : ""}">${inP ? esc(J(parsed.parameters[k])) : "<i>absent</i>"}</td></tr>`;
    }
    return `<div class="answer" data-model="${esc(D.models[m])}" data-setting="${esc(D.settings[s])}"><h3><span class="chip t-${t}">${t === "ok" ? "✓ right" : t}</span> ${esc(D.labels[m])}, ${esc(D.settings[s])}</h3>` +
      `<div class="meta">answer: ${D.answers[c[6]]}${c[9] ? " (" + esc(c[9]) + ")" : ""}; history items shown: ${c[7]}; prompt fingerprint <code>${esc(c[8])}</code></div>` +
      `<table class="answer"><thead><tr><th></th><th>reference</th><th>parsed call</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<details><summary>raw answer</summary><pre class="raw">${esc(c[5] ?? "<no response>")}</pre></details></div>`;
  }
  function detailHtml(e) {
    const n = columns.length + 4 + (D.benchmarks.length > 1 ? 1 : 0);
    const hs = P.map((st) => histHtml(e, st)).join("");
    return `<tr class="detail" data-key="${esc(e.b + ":" + e.id)}"><td colspan="${n}"><div class="inner">` +
      `<p><b>Query:</b> ${esc(e.q)}<br><b>Reference:</b> <code>${esc(J({tool_name: e.rt, parameters: e.rp}))}</code>` +
      (e.hl != null ? ` · released history_length ${esc(e.hl)}` : "") + ` · benchmark: ${esc(D.benchmarks[e.b])}</p>` +
      `<div class="detail-grid">${hs}${candHtml(e)}</div>` +
      `<div class="answers">${columns.map(([m, s]) => answerHtml(e, m, s)).join("")}</div></div></td></tr>`;
  }
  tbody.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr.row");
    if (!tr) return;
    const key = tr.dataset.key, e = matched.find((x) => x.b + ":" + x.id === key);
    const old = tbody.querySelector("tr.detail");
    if (old) { old.previousElementSibling.classList.remove("open"); old.remove(); }
    if (state.open === key) { state.open = ""; } else { state.open = key; tr.classList.add("open"); tr.insertAdjacentHTML("afterend", detailHtml(e)); }
    const p = new URLSearchParams(location.hash.slice(1));
    state.open ? p.set("open", state.open) : p.delete("open");
    history.replaceState(null, "", "#" + p.toString());
  });

  const bind = (id, key, ev, read) => { const el = document.getElementById(id); if (el) el.addEventListener(ev, () => { state[key] = read(el); apply(); }); };
  bind("f-bench", "bench", "change", (el) => el.value);
  bind("f-model", "model", "change", (el) => el.value);
  bind("f-setting", "setting", "change", (el) => el.value);
  bind("f-type", "type", "change", (el) => el.value);
  bind("f-group", "group", "change", (el) => el.value);
  bind("f-critical", "critical", "change", (el) => el.checked);
  let timer;
  document.getElementById("f-q").addEventListener("input", (ev) => { clearTimeout(timer); timer = setTimeout(() => { state.q = ev.target.value.trim(); apply(); }, 150); });
  new IntersectionObserver((obs) => { if (obs.some((o) => o.isIntersecting) && shown < matched.length) renderMore(); })
    .observe(document.getElementById("more"));
  // An opened entry named in the URL is rendered even when it lies beyond the first chunk.
  if (state.open) {
    columns = visibleColumns();
    const k = E.filter(matches).findIndex((e) => e.b + ":" + e.id === state.open);
    apply();
    while (k >= shown && shown < matched.length) renderMore();
  } else apply();
  status.textContent = `${E.length} entries, ${D.models.length} models, ${D.settings.length} settings, ${D.samples.length} answers.`;
  status.dataset.ms = String(Math.round(performance.now()));  // navigation start to first rows drawn
  status.dataset.ready = "1";
})();
