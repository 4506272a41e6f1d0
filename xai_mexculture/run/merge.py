"""Combine the output folders of a sharded run (`main.py --shard INDEX/COUNT`) into one.

    python merge.py outputs/shard-0 outputs/shard-1 outputs/shard-2 --output_dir outputs/merged

The shards' manifests must agree on every parameter that changes the numbers (their `numbers`, the
shard aside), on the methods and on the image list; a difference is named. Results, maps, figures,
errors and the sanity check are combined in the single run's order (images sorted by name) and the
summary, comparisons, plots and report.html are rebuilt from them, so the merged folder equals the folder of one
run over all images (timings aside). Exit status: 0 merged, 2 refused (nothing written).
"""
import csv
import datetime
import io
import json
import shutil
import sys
from pathlib import Path

from xai_mexculture.core import safe_io

# Files of a run folder merged row by row; every other sub-folder (maps, figures, inputs, curves,
# ...) is copied, except the run plots, which are rebuilt (with the tables and report.html).
TABLES = ("results.csv", "errors.csv", "sanity.csv")
REBUILT_FOLDERS = ("plots",)
# Parameters besides `numbers` that shards must share (the image list and what is explained).
SAME_PARAMETERS = ("test_images_folder_path", "n_images", "explanation_method", "references")


class MergeError(Exception):
    """The shards cannot be merged (exit status 2)."""


def read_manifest(folder) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MergeError(f"{folder}: no manifest.json (not the output folder of a finished or started run)") from None
    except ValueError:
        raise MergeError(f"{path}: not a readable manifest") from None


def _shard_of(manifest, folder):
    text = (manifest.get("numbers") or {}).get("shard")
    if not text:
        raise MergeError(f"{folder}: not a shard (its run had no --shard)")
    index, count = (int(v) for v in str(text).split("/"))
    return index, count


def check_manifests(folders, manifests, allow_missing=False) -> list:
    """The shard indexes in folder order; MergeError naming every difference or missing shard."""
    first, problems = manifests[0], []
    numbers0 = {k: v for k, v in first.get("numbers", {}).items() if k != "shard"}
    for folder, manifest in zip(folders[1:], manifests[1:]):
        numbers = {k: v for k, v in manifest.get("numbers", {}).items() if k != "shard"}
        for key in sorted(set(numbers0) | set(numbers)):
            if numbers0.get(key) != numbers.get(key):
                problems.append(f"{key}: {numbers0.get(key)!r} in {folders[0]} but {numbers.get(key)!r} in {folder}")
        for key in SAME_PARAMETERS:
            a, b = first.get("parameters", {}).get(key), manifest.get("parameters", {}).get(key)
            if a != b:
                problems.append(f"--{key}: {a!r} in {folders[0]} but {b!r} in {folder}")
        if manifest.get("methods") != first.get("methods"):
            problems.append(f"methods: {first.get('methods')} in {folders[0]} but {manifest.get('methods')} in {folder}")
    shards = [_shard_of(m, f) for f, m in zip(folders, manifests)]
    counts = {count for _, count in shards}
    if len(counts) > 1:
        problems.append(f"shard counts differ: {', '.join(f'{f} is {i}/{c}' for f, (i, c) in zip(folders, shards))}")
    indexes = [i for i, _ in shards]
    repeated = sorted({i for i in indexes if indexes.count(i) > 1})
    if repeated:
        problems.append(f"shard(s) {', '.join(map(str, repeated))} given twice")
    if len(counts) == 1 and not allow_missing:
        missing = sorted(set(range(counts.pop())) - set(indexes))
        if missing:
            problems.append(f"shard(s) {', '.join(map(str, missing))} missing (add --allow_missing to merge "
                            f"the others)")
    if problems:
        raise MergeError("the shards cannot be merged:\n  " + "\n  ".join(problems))
    return indexes


def unfinished(folder, manifest, done) -> str:
    """How many images of a shard's run (its manifest's list) are not in `done` (the images with a
    row in the merged results.csv or errors.csv), in words; "" when none. A manifest of a version
    without the list is checked for its results.csv only."""
    images = manifest.get("images")
    if images is None:
        return "" if (Path(folder) / "results.csv").exists() else "every image (no results.csv)"
    left = [image for image in images if image not in done]
    return f"{len(left)} image(s)" if left else ""


def _read_table(path):
    """(header, rows as lists of strings) of a CSV; (None, []) when absent."""
    if not path.exists():
        return None, []
    with path.open(newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            rows = list(reader)
        except csv.Error as err:  # a quoted field cut short by a kill, say
            raise MergeError(f"{path}, line {reader.line_num}: a damaged row ({err}): finish that shard with its "
                             f"main.py command and --resume, or remove the row") from None
    return (rows[0], rows[1:]) if rows else (None, [])


def read_tables(name, folders) -> tuple:
    """(header, rows) of `name` from every folder (header None when no folder has it); MergeError
    naming the file and line of a damaged row or a header that differs."""
    header, rows = None, []
    for folder in folders:
        h, r = _read_table(Path(folder) / name)
        if h is None:
            continue
        if header is not None and h != header:
            raise MergeError(f"{folder / name}: other columns than {folders[0] / name}")
        for line, row in enumerate(r, start=2):
            if len(row) != len(h) or not row[h.index("image") if "image" in h else 0]:
                raise MergeError(f"{folder / name}, line {line}: a damaged row ({len(row)} fields, the header has "
                                 f"{len(h)}): finish that shard with its main.py command and --resume (which "
                                 f"drops a torn last row and redoes its image), or remove the row")
        header = h
        rows += r
    return header, rows


def merge_table(name, header, rows, out_dir) -> int:
    """The rows of `name` (read_tables) sorted by image (stable: each image's rows keep their order),
    duplicates dropped, written atomically; returns the number of rows."""
    if header is None:
        return 0
    key = header.index("image") if "image" in header else 0
    seen, unique = set(), []
    for row in sorted(rows, key=lambda r: r[key] if r else ""):
        if tuple(row) not in seen:
            seen.add(tuple(row))
            unique.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(unique)
    safe_io.write_text(out_dir / name, buffer.getvalue())
    return len(unique)


def copy_files(folders, out_dir) -> int:
    """Every file of the shards' sub-folders (maps, figures, ...) into the same place under out_dir;
    the same file from two shards must be identical."""
    import filecmp
    n = 0
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            rel = path.relative_to(folder)
            if (not path.is_file() or len(rel.parts) < 2 or rel.parts[0] in REBUILT_FOLDERS
                    or any(part.startswith(".") for part in rel.parts)):
                continue
            target = out_dir / rel
            if target.exists():
                if not filecmp.cmp(path, target, shallow=False):
                    raise MergeError(f"{rel}: differs between shards ({path} and an earlier shard)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            n += 1
    return n


def _incomplete_note(indexes, count, left) -> str:
    """What an --allow_missing merge leaves out, a sentence ("" when nothing): printed, and kept in
    the manifest for the top of summary.md and report.html."""
    parts = []
    missing = sorted(set(range(count)) - set(indexes))
    if missing:
        parts.append(f"shard(s) {', '.join(map(str, missing))} of {count} missing")
    parts += [f"{count_left} of {folder} unfinished" for folder, count_left in left.items()]
    if not parts:
        return ""
    return ("Merged with --allow_missing: " + "; ".join(parts)
            + ": the tables and tests cover only the images merged, not the whole run.")


def merge(folders, out_dir, allow_missing=False) -> dict:
    """Merge the shard folders into out_dir (which must be empty or absent); returns counts."""
    from xai_mexculture.render import rebuild
    from xai_mexculture.results import tables
    folders = [Path(f) for f in folders]
    manifests = [read_manifest(f) for f in folders]
    indexes = check_manifests(folders, manifests, allow_missing)
    shard_tables = {name: read_tables(name, folders) for name in TABLES}  # all checked before anything is written
    done = {row[header.index("image")] for header, rows in (shard_tables["results.csv"], shard_tables["errors.csv"])
            if header and "image" in header for row in rows}
    left = {f: unfinished(f, m, done) for f, m in zip(folders, manifests)}
    left = {f: count_left for f, count_left in left.items() if count_left}
    if left and not allow_missing:
        raise MergeError("the shards cannot be merged:\n  " + "\n  ".join(
            f"{f}: {count_left} without results or an error (its run did not finish): run its main.py command "
            f"again with --resume, or add --allow_missing to merge what it has" for f, count_left in left.items()))
    incomplete = _incomplete_note(indexes, _shard_of(manifests[0], folders[0])[1], left)
    if incomplete:
        print(f"warning: {incomplete}", file=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {name: merge_table(name, *shard_tables[name], out_dir) for name in TABLES}
    counts["files"] = copy_files(folders, out_dir)
    first = manifests[0]
    params = first.get("parameters", {})
    rows = tables.read_rows(out_dir / "results.csv")
    methods, references = tables.run_rows(out_dir, rows)
    if counts["sanity.csv"]:
        from xai_mexculture.metrics import sanity
        from xai_mexculture.render import sanity_plot
        sanity_plot.plot(sanity.read_rows(out_dir / "sanity.csv"), out_dir / "sanity.png")
    manifest = dict(first, date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    command=" ".join(sys.argv), output_dir=str(out_dir),
                    n_images=sum(m.get("n_images", 0) for m in manifests),
                    backend=", ".join(dict.fromkeys(str(m.get("backend", "")) for m in manifests)),
                    images=sorted({i for m in manifests for i in m.get("images") or ()}) or None,
                    incomplete=incomplete or None,
                    merged_from=[{"folder": str(f), "shard": m["numbers"]["shard"], "date": m.get("date")}
                                 for f, m in zip(folders, manifests)],
                    numbers=dict(first.get("numbers", {}), shard=None))
    manifest["parameters"] = dict(params, shard=None, output_dir=str(out_dir))
    safe_io.write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2, default=str))
    tables.write_tables(out_dir, rows, methods, references)
    rebuild.rebuild(out_dir, params.get("display_type", "grid"), params.get("figure_format", "png"), images=False,
                   progress=False)
    counts["shards"] = sorted(indexes)
    return counts


def main(argv=None) -> int:
    from xai_mexculture.core import parsers
    from xai_mexculture.core import runlock
    p = parsers.ArgumentParser(prog="merge.py", description="Combine the output folders of a sharded run into one.")
    p.add_argument("folders", nargs="+", help="the shards' output folders (main.py --shard I/K --output_dir ...)")
    p.add_argument("--output_dir", required=True, help="the merged folder (absent or empty)")
    p.add_argument("--allow_missing", action="store_true", help="merge even when some shards are missing")
    args = p.parse_args(argv)
    out_dir = Path(args.output_dir)
    folders = [Path(f) for f in args.folders]
    for folder in folders:
        if not folder.is_dir():
            print(f"error: {folder}: no such folder", file=sys.stderr)
            return 2
        if folder.resolve() == out_dir.resolve():
            print(f"error: --output_dir {out_dir} is one of the shards", file=sys.stderr)
            return 2
    if out_dir.exists() and (not out_dir.is_dir() or any(p.name != runlock.LOCK_NAME for p in out_dir.iterdir())):
        print(f"error: --output_dir {out_dir} exists and is not empty", file=sys.stderr)
        return 2
    seen = {}
    for folder in folders:
        first = seen.get(folder.resolve())
        if first is not None:
            same = "" if str(first) == str(folder) else f" (as {first} too)"
            print(f"error: {folder} is given twice{same}", file=sys.stderr)
            return 2
        seen[folder.resolve()] = folder
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(f"error: --output_dir {out_dir}: cannot be used as a folder ({err.strerror or err})", file=sys.stderr)
        return 2
    locks = []
    try:
        for folder in folders + [out_dir]:  # no shard may still be running while it is read
            lock = runlock.RunLock(folder)
            try:
                lock.acquire()
            except runlock.FolderUnwritable:
                if folder is out_dir:
                    raise
                continue  # a shard on a read-only medium: no run can be writing to it either
            locks.append(lock)
        counts = merge(folders, out_dir, args.allow_missing)
    except (MergeError, runlock.FolderLocked) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except runlock.FolderUnwritable as err:  # the merged folder on a read-only file system, say
        print(f"error: --output_dir {err}", file=sys.stderr)
        return 2
    finally:
        for lock in locks:
            lock.release()
    print(f"merged shards {', '.join(map(str, counts['shards']))}: {counts['results.csv']} result rows, "
          f"{counts['errors.csv']} error rows, {counts['files']} files; outputs in {out_dir.resolve()}")
    print((out_dir / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
