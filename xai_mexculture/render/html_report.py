"""report.html: one self-contained page to read a whole run, written from the run's files alone.

It works offline and when the output folder is copied elsewhere: no server, nothing external (its
CSS and JavaScript are inline, no web fonts), every figure linked by a path relative to the page (the
PNG, or the PNG preview beside a PDF/SVG, so the page stays small for hundreds of images). Sections:
the run, the summary with confidence intervals, its notes, the comparisons, the run plots, the
per-image table (a click on a column header sorts it, numbers as numbers), each image's figures,
the errors and the manifest."""
import csv
import html
import json
import math
from pathlib import Path
from urllib.parse import quote

from xai_mexculture.core import safe_io
from xai_mexculture.core import stats
from xai_mexculture.render import style
from xai_mexculture.results import saved

PAGE = "report.html"
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1400px;padding:0 16px 40px;color:#1b1b1b}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}
h3{font-size:15px;margin:18px 0 6px}nav a{margin-right:12px}
.wrap{overflow-x:auto;max-height:80vh;border:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}
th,td{padding:3px 7px;border-bottom:1px solid #e4e4e4;text-align:left;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0;z-index:1}
#t-summary td:nth-child(n+2),#t-images td:nth-child(n+6),#t-comparisons td:nth-child(n+4):not(:last-child){text-align:right}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
tr.ref td{font-style:italic;background:#f7f7f7}
small{color:#555}.sig{font-weight:bold}
figure{margin:10px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.plots{display:flex;flex-wrap:wrap;gap:14px}.plots figure{flex:0 1 auto;max-width:100%;margin:0}
.plots img{height:300px;width:auto}
.singles{display:flex;flex-wrap:wrap;gap:6px}.singles img{width:180px}
pre{background:#f6f6f6;padding:10px;overflow:auto;font-size:12px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}dd{margin:0}
.warning{background:#fff3cd;border:1px solid #e0c36a;padding:6px 10px}
"""
SCRIPT = """
(function () {
  var NUMBER = /^[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?$/;
  function key(cell) {
    var text = cell ? cell.textContent.trim() : '';
    if (text === '' || text === '\\u2013') return null;
    return NUMBER.test(text) ? parseFloat(text) : text.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b));
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      function sort() {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var items = Array.prototype.map.call(body.rows, function (row, i) {
          return {row: row, key: key(row.cells[col]), i: i};
        });
        items.sort(function (a, b) {
          if (a.key === null || b.key === null) {  // empty cells last, either way
            return (a.key === null) - (b.key === null) || a.i - b.i;
          }
          return dir * compare(a.key, b.key) || a.i - b.i;
        });
        var sorted = document.createDocumentFragment();
        items.forEach(function (item) { sorted.appendChild(item.row); });
        body.appendChild(sorted);
      }
      th.tabIndex = 0;
      th.title = 'sort by this column';
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
})();
"""
def esc(text) -> str:
    return html.escape(str(text), quote=True)


def href(relative) -> str:
    """A path relative to the page as a URL (each part quoted)."""
    return esc("/".join(quote(part) for part in Path(relative).as_posix().split("/")))


def _csv(path) -> list:
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _table(name, head, body, sortable=False, classes=None) -> str:
    """The table t-<name> (its numeric columns are right-aligned by CSS); head: [header html]; body:
    [[cell html]] (cells already escaped); classes: a class per row. End tags of cells and rows are
    left out (optional in HTML: a smaller page)."""
    classes = classes or [""] * len(body)
    out = [f'<div class="wrap"><table id="t-{name}"{" class=sortable" if sortable else ""}><thead><tr>']
    out += [f"<th>{h}" for h in head]
    out.append("</tr></thead><tbody>")
    for row, cls in zip(body, classes):
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        out.append("".join(f"<td>{c}" for c in row))
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _direction(metric) -> str:
    from xai_mexculture import metrics
    try:
        return " \u2191" if metrics.get(metric).higher_is_better else " \u2193"
    except ValueError:
        return ""


def summary_section(out_dir) -> str:
    """summary.csv as summary.md shows it: the maps, then one table per metric family (the best
    method of a column, per comparisons.csv, in bold), with what each family's values mean."""
    from xai_mexculture.results import tables
    summary = tables.read_summary_csv(Path(out_dir) / "summary.csv")
    if not summary:
        return "<p>No summary (no image completed).</p>"
    comparisons = [dict(c, p_holm=_float(c.get("p_holm")), effect_size=_float(c.get("effect_size")))
                   for c in _csv(Path(out_dir) / "comparisons.csv")]
    references = [s["method"] for s in summary if style.is_reference(s["method"])]
    out = []
    for k, table in enumerate(tables.summary_tables(summary, comparisons, references, bold=("<b>", "</b>"))):
        body = [[esc(style.label(method))] + [text + (f"<br><small>{interval}</small>" if interval else "")
                                              for text, interval in cells]
                for method, _, cells in table["rows"]]
        classes = ["ref" if reference else "" for _, reference, _ in table["rows"]]
        out.append(f"<h3>{esc(table['title'])}</h3>")
        if table["about"]:
            out.append(f"<p>{esc(table['about'])}</p>")
        out.append(_table("summary" if k == 0 else f"summary-{k}", ["method"] + [esc(h) for h in table["head"]],
                          body, classes=classes))
    out.append(f"<p>{esc(tables.CI_NOTE)} <b>Bold</b>: the best method of the column, significantly different "
               f"from every other method (paired Wilcoxon signed-rank tests, Holm-corrected, p &lt; 0.05). "
               f"\u2191 higher is better, \u2193 lower is better; s/image: the mean seconds per image (the first "
               f"image's include the compilation of the method's compiled calls)."
               + (f" {esc(tables.reference_note(references))}" if references else "") + "</p>")
    return "\n".join(out)


def notes_section(out_dir) -> str:
    """summary.md's paragraphs and lists (its tables are shown as tables elsewhere)."""
    path = Path(out_dir) / "summary.md"
    if not path.is_file():
        return ""
    from xai_mexculture.results import tables
    titles = tuple(f"**{t}**" for t in ["Maps"] + list(tables.FAMILY_TITLES.values()))  # shown with the tables
    out, items = [], []
    for line in path.read_text().splitlines():
        if line.startswith("|") or not line.strip():
            if items:
                out.append("<ul>" + "".join(f"<li>{esc(i)}" for i in items) + "</ul>")
                items = []
            continue
        if line.startswith("- "):
            items.append(line[2:])
        elif not line.startswith(("Each cell:", "Reference rows", "s/image:") + titles):
            out.append(f"<p>{esc(line)}</p>")
    if items:
        out.append("<ul>" + "".join(f"<li>{esc(i)}" for i in items) + "</ul>")
    return "\n".join(out)


def comparisons_section(out_dir) -> str:
    from xai_mexculture.results import tables
    rows = _csv(Path(out_dir) / "comparisons.csv")
    if not rows:
        return "<p>No comparison (fewer than two methods).</p>"
    body = []
    for r in rows:
        significant = _float(r.get("p_holm")) < 0.05
        cells = [esc(r[c]) if r[c] != "" else "\u2013" for c in tables.COMPARISON_COLUMNS]
        cells[tables.COMPARISON_COLUMNS.index("median_difference")] = stats.fmt(_float(r["median_difference"])) or "\u2013"
        if significant:
            cells[tables.COMPARISON_COLUMNS.index("p_holm")] = f'<span class="sig">{esc(r["p_holm"])}</span>'
        body.append(cells)
    return (_table("comparisons", [esc(c) for c in tables.COMPARISON_COLUMNS], body, sortable=True)
            + "<p>Paired two-sided Wilcoxon signed-rank tests, Holm-corrected within each metric (bold: p_holm "
              "&lt; 0.05); effect_size: matched-pairs rank-biserial correlation of A \u2212 B. Click a header to "
              "sort.</p>")


def plots_section(plots, display_type="grid") -> str:
    if not plots:
        if display_type == "none":
            return ("<p>No plots (--display_type none); <code>python report.py OUT --display_type grid</code> "
                    "draws them from the saved results.</p>")
        return "<p>No plot (no image completed).</p>"
    out = ['<div class="plots">']
    for p in plots:
        extra = "" if p["file"] == p["png"] else f' (<a href="{href(p["file"])}">{esc(Path(p["file"]).suffix[1:].upper())}</a>)'
        out.append(f'<figure><a href="{href(p["file"])}"><img src="{href(p["png"])}" alt="{esc(p["title"])}" '
                   f'loading="lazy"></a><figcaption>{esc(p["title"])}{extra}</figcaption></figure>')
    out.append("</div>")
    return "\n".join(out)


def _cell(value, digits=4) -> str:
    if isinstance(value, float):
        return stats.fmt(value, digits) or "\u2013"
    return esc(value) if value not in ("", None) else "\u2013"


def images_section(rows, anchors) -> str:
    from xai_mexculture.results import tables
    metrics_ = [m for m in tables.metric_names() if any(math.isfinite(r.get(m, math.nan)) for r in rows)]
    info = [("image", "image"), ("method", "method"), ("true_class", "true"), ("target_class", "explained"),
            ("predicted_class", "predicted"), ("confidence", "confidence"), ("p_full", "p_full"),
            ("p_start", "p_start"), ("p_end", "p_end"), ("seconds", "seconds"), ("reliability", "reliability")]
    head = [esc(label) for _, label in info] + [esc(m) + _direction(m) for m in metrics_] + ["note"]
    body, classes = [], []
    for r in rows:
        name = r["image"]
        first = (f'<a href="#{esc(anchors[name])}">{esc(name)}</a>' if name in anchors else esc(name))
        cells = [first, esc(r["method"])] + [_cell(r.get(c, ""), 3 if c == "seconds" else 4) for c, _ in info[2:]]
        cells += [_cell(r.get(m, math.nan)) for m in metrics_] + [_cell(r.get("note", ""))]
        body.append(cells)
        classes.append("ref" if style.is_reference(r["method"]) else "")
    return (_table("images", head, body, sortable=True, classes=classes)
            + f"<p>{len(rows)} rows (image \u00d7 method, reference rows in italic; full precision in results.csv). "
              f"Click a header to sort by it, again to reverse; empty cells stay last.</p>" + COLUMNS_NOTE)


# What the probability columns of results.csv are (the per-image table's note; docs/reading-a-run.md too).
COLUMNS_NOTE = (
    "<p><b>confidence</b>: the model's probability of the <i>predicted</i> class on the full image. "
    "<b>p_full</b>: its probability of the <i>explained</i> class (the true class from the file name, or the "
    "predicted one with --target predicted) on the full image; the same as confidence when the explained class "
    "is the predicted one, lower when the model is wrong. <b>p_start</b>: the explained class's probability "
    "at the insertion start (the first insertion score); <b>p_end</b>: on the fully deleted image (the last "
    "deletion score). seconds: the method's time for this map. reliability: the split-half reliability of a "
    "RISE, LIME or SmoothGrad map (near 1: enough samples; near 0: noise). note: why a row's values are "
    "missing or what to distrust (a flat map has no metric; a class the model does not see).</p>")


def figures_section(out_dir, rows, display_type, fmt) -> tuple:
    """(html, {image: anchor}) of every image's figures that exist."""
    from xai_mexculture.render import figures
    out_dir = Path(out_dir)
    names = list(dict.fromkeys(r["image"] for r in rows))
    anchors, blocks, missing = {}, [], []
    if display_type == "none":
        return ("<p>No per-image figures in this run (--display_type none); <code>python report.py OUT "
                "--display_type grid</code> draws them from the saved arrays.</p>", anchors)
    for name in names:
        methods = [m for m in dict.fromkeys(r["method"] for r in rows if r["image"] == name)
                   if (out_dir / "maps" / f"{saved.stem(name)}_{m}.npy").is_file()]
        methods = sorted(methods, key=lambda m: (style.is_reference(m), methods.index(m)))
        pngs = [p for p in figures.figure_paths(out_dir / "figures", name, display_type, methods) if p.is_file()]
        if not pngs:
            missing.append(name)
            continue
        anchor = f"fig-{saved.stem(name)}"
        anchors[name] = anchor
        links = []
        for png in pngs:
            vector = png.with_suffix(f".{fmt}")
            rel = png.relative_to(out_dir).as_posix()
            target = vector.relative_to(out_dir).as_posix() if fmt != "png" and vector.is_file() else rel
            alt = f"{name}: {png.stem}"
            links.append(f'<a href="{href(target)}"><img src="{href(rel)}" alt="{esc(alt)}" loading="lazy"></a>')
        cls = "singles" if display_type == "singles" else ""
        note = f' <small>(links open the {fmt.upper()})</small>' if fmt != "png" else ""
        blocks.append(f'<section id="{esc(anchor)}"><h3>{esc(name)}{note}</h3>'
                      f'<figure class="{cls}">{"".join(links)}</figure></section>')
    note = (f"<p>{len(missing)} image(s) without a per-image figure (e.g. a run with --figures none or "
            f"first:N); <code>python report.py OUT</code> draws them from the saved arrays.</p>" if missing else "")
    if not blocks:
        return note or "<p>No per-image figure found.</p>", anchors
    return note + "\n".join(blocks), anchors


def errors_section(out_dir) -> str:
    rows = _csv(Path(out_dir) / "errors.csv")
    if not rows:
        return "<p>None: every image was done with every method.</p>"
    return _table("errors", ["image", "reason"], [[esc(r.get("image", "")), esc(r.get("reason", ""))] for r in rows])


def run_section(out_dir, rows, manifest) -> str:
    params = manifest.get("parameters", {})
    facts = [("folder", Path(out_dir).resolve().name), ("date", manifest.get("date", "")),
             ("command", manifest.get("command", "")), ("backend", manifest.get("backend", "")),
             ("model", params.get("model_path", "")), ("model SHA-256", str(manifest.get("model_sha256", ""))[:16]),
             ("methods", ", ".join(manifest.get("methods", []))),
             ("images done", len({r["image"] for r in rows})), ("images in the run", manifest.get("n_images", "")),
             ("deletion baseline / insertion start",
              f"{params.get('deletion_baseline', '')} / {params.get('insertion_start', '')}")]
    warning = manifest.get("incomplete")  # a merge that left shards or images out
    return ((f'<p class="warning"><b>Incomplete.</b> {esc(warning)}</p>' if warning else "")
            + "<dl>" + "".join(f"<dt>{esc(k)}<dd>{esc(v)}" for k, v in facts if v not in ("", None)) + "</dl>")


def page(out_dir, rows, plots, display_type="grid", fmt="png") -> str:
    """The page's HTML."""
    from xai_mexculture.results import tables
    out_dir = Path(out_dir)
    manifest = tables.read_manifest(out_dir)
    figures_html, anchors = figures_section(out_dir, rows, display_type, fmt)
    sections = [("run", "Run", run_section(out_dir, rows, manifest)),
                ("summary", "Summary", summary_section(out_dir) + notes_section(out_dir)),
                ("comparisons", "Comparisons", comparisons_section(out_dir)),
                ("plots", "Plots", plots_section(plots, display_type)),
                ("images", "Per image", images_section(rows, anchors)),
                ("figures", "Figures", figures_html),
                ("errors", "Errors", errors_section(out_dir)),
                ("manifest", "Manifest", "<pre>" + esc(json.dumps(manifest, indent=2, default=str)) + "</pre>")]
    nav = "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t, _ in sections)
    body = "\n".join(f'<h2 id="{k}">{esc(t)}</h2>\n{h}' for k, t, h in sections)
    title = f"xai-mexculture: {Path(out_dir).resolve().name}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><link rel=\"icon\" href=\"data:,\"><style>{CSS}</style></head>\n"
            f"<body><h1>{esc(title)}</h1><nav>{nav}</nav>\n{body}\n<script>{SCRIPT}</script></body></html>\n")


def write_page(out_dir, rows, plots, display_type="grid", fmt="png") -> Path:
    """OUT/report.html (written atomically); returns its path."""
    path = Path(out_dir) / PAGE
    safe_io.write_text(path, page(out_dir, rows, plots, display_type, fmt))
    return path
