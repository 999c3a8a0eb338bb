"""The store's promises as properties: a write interrupted at any byte leaves the old file or
the new one (and no temporary), the data reach the disk before the rename, results are
readable by others, a row written twice is one row; and every check a row must pass to be
read back (bench.rows), each on a row that breaks just that one."""
import builtins
import io
import os
import stat

import pytest

from bench import store
from bench.errors import DamagedError
from bench.gate import baseline as bl
from bench.points import Point
from bench.rows import COLUMNS, format_rows, read_checked


class Interrupted(Exception):
    """What the fault injector raises: a crash, a full disk, a kill mid-write."""


@pytest.fixture
def faulty_writes(monkeypatch):
    """fail(after) makes every file opened for writing, however it is opened (os.fdopen,
    open, io.open, Path.write_text), accept `after` characters in all and then raise."""
    real_open, real_fdopen = builtins.open, os.fdopen
    budget = {"left": None}

    class Limited:
        def __init__(self, fh):
            self._fh = fh

        def write(self, s):
            left = budget["left"]
            if left is not None and len(s) > left:
                self._fh.write(s[:left])
                self._fh.flush()
                budget["left"] = 0
                raise Interrupted("interrupted mid-write")
            if left is not None:
                budget["left"] = left - len(s)
            return self._fh.write(s)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

        def __getattr__(self, name):
            return getattr(self._fh, name)

    def wrap(opener):
        def opened(*args, **kw):
            fh = opener(*args, **kw)
            mode = args[1] if len(args) > 1 else kw.get("mode", "r")
            return Limited(fh) if any(c in mode for c in "wax+") else fh
        return opened
    monkeypatch.setattr(builtins, "open", wrap(real_open))
    monkeypatch.setattr(io, "open", wrap(real_open))
    monkeypatch.setattr(os, "fdopen", wrap(real_fdopen))

    def fail(after):
        budget["left"] = after
    return fail


OLD, NEW = "old,content\n" * 3, "new,content,which is longer\n" * 5


@pytest.mark.parametrize("write", ["atomic_write", "baseline.write"])
def test_a_write_interrupted_at_any_byte_leaves_the_old_file_or_the_new(tmp_path, faulty_writes, write):
    path = tmp_path / "f.json"
    new = NEW if write == "atomic_write" else '{\n "a": 1\n}\n'
    do = (lambda: store.atomic_write(path, NEW)) if write == "atomic_write" else \
        (lambda: bl.write(path, {"a": 1}))
    for after in range(0, len(new) + 1, 3):
        path.write_text(OLD)
        faulty_writes(after)
        try:
            do()
        except Interrupted:
            pass
        faulty_writes(None)
        assert path.read_text() in (OLD, new), after
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"], after  # no temporary left


def test_an_interrupted_upsert_keeps_every_row_already_written(tmp_path, faulty_writes):
    path = tmp_path / "points.csv"
    store.upsert_rows(path, [row(m=8), row(m=16)])
    before = path.read_text()
    for after in range(0, len(before) + 400, 97):
        faulty_writes(after)
        try:
            store.upsert_rows(path, [row(m=32)])
        except Interrupted:
            pass
        faulty_writes(None)
        keys = {r["point_key"] for r in store.read_rows(path)}
        assert keys >= {row(m=8)["point_key"], row(m=16)["point_key"]}
        if path.read_text() != before:
            break


def test_the_data_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    """fsync of the temporary file, then os.replace of that file onto the target: a power
    cut after the rename must not find an empty file under the new name."""
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "meta.json"
    store.write_json(path, {"a": 1})
    kinds = [e[0] for e in events]
    assert kinds == ["fsync", "replace"]
    assert events[0][1] == events[1][1] and events[1][2] == str(path)


def test_results_are_readable_by_others_as_the_umask_allows(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    path = tmp_path / "points.csv"
    store.atomic_write(path, "x\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    store.atomic_write(path, "y\n")  # and again, replacing it
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_text_is_written_as_given(tmp_path):
    path = tmp_path / "t.csv"
    store.atomic_write(path, "a,b\r\nc\n")
    assert path.read_bytes() == b"a,b\r\nc\n"


# -- rows -----------------------------------------------------------------------------------------
def row(mode="forward", status="ok", **kw):
    """A good row (dict of values) of the point kw describes."""
    point = {k: kw.pop(k) for k in list(kw) if k in ("backend", "L", "m", "d", "K", "waist", "target")}
    p = Point(**point)
    r = dict.fromkeys(COLUMNS, "")
    r.update({k: str(v) for k, v in p.as_dict().items()}, point_key=p.key(), mode=mode,
             status=status, finished_utc="2026-01-01T00:00:00Z", mem_estimate_bytes="1024",
             ops_predicted="100", lines="m;d")
    if status == "ok":
        r.update(ops_total="100", rounds="5", time_median_s="0.001", time_iqr_s="0.0001",
                 time_min_s="0.0009")
    r.update(kw)
    return r


def read_back(tmp_path, rows, text=None):
    path = tmp_path / "points.csv"
    path.write_text(text if text is not None else format_rows(rows))
    return read_checked(path)


def test_a_row_written_twice_is_one_row_in_the_file(tmp_path):
    path = tmp_path / "points.csv"
    store.upsert_rows(path, [row("forward"), row("reverse"), row("forward", m=8)])
    store.upsert_rows(path, [row("forward", time_median_s="0.5")])
    store.upsert_rows(path, [row("forward", time_median_s="0.25")])
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 3  # the header and one line per (point, mode)
    rows = {(r["point_key"], r["mode"]): r for r in store.read_rows(path)}
    assert rows[(row()["point_key"], "forward")]["time_median_s"] == "0.25"
    assert rows[(row()["point_key"], "reverse")]["time_median_s"] == "0.001"


def test_done_keys_are_the_ok_and_disagreeing_rows(tmp_path):
    path = tmp_path / "points.csv"
    rows = [row("forward", m=2), row("reverse", m=2, status="disagree"),
            row("forward", m=3, status="skipped"), row("reverse", m=3, status="error")]
    store.upsert_rows(path, rows)
    assert store.done_keys(path) == {(rows[0]["point_key"], "forward"), (rows[1]["point_key"], "reverse")}


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    names = [".points.csv.a1b2", ".meta.json.x9", ".pytest-benchmark.json.q", ".plan-1234.json",
             ".lock", ".keep.me", "points.csv", "meta.json"]
    for n in names:
        (tmp_path / n).write_text("x")
    store.remove_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.me", ".lock", "meta.json", "points.csv"]


def test_a_directory_of_the_same_name_here_does_not_shadow_the_run(tmp_path, monkeypatch):
    root = tmp_path / "results"
    (root / "r1").mkdir(parents=True)
    (root / "r1" / "points.csv").write_text("")
    work = tmp_path / "work"
    (work / "r1").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert store.resolve_run(root, "r1") == root / "r1"


@pytest.mark.parametrize("text", ["../elsewhere\n", "", "a\nb\n", "a/b\n"])
def test_a_latest_file_must_name_one_run_here(tmp_path, text):
    (tmp_path / "latest").write_text(text)
    with pytest.raises(DamagedError, match="latest"):
        store.resolve_run(tmp_path)


def test_json_that_is_not_an_object_is_damaged(tmp_path):
    for text in ("[1, 2]", "null", "3"):
        (tmp_path / "m.json").write_text(text)
        with pytest.raises(DamagedError):
            store.read_json(tmp_path / "m.json")


def test_good_rows_of_every_kind_read_back(tmp_path):
    rows = [row("forward"), row("reverse"), row("autograd", ops_total="", ops_predicted=""),
            row("forward", m=4, status="skipped", reason="no CUDA GPU"),
            row("reverse", m=4, status="disagree"), row("forward", L=3, waist=2),
            row("reverse", time_iqr_s="0.0")]  # identical rounds: an IQR of 0 is a result
    good, bad = read_back(tmp_path, rows)
    assert bad == [] and len(good) == len(rows) - 1  # the last replaces the second
    assert {(r["point_key"], r["mode"]) for r in good} == {(r["point_key"], r["mode"]) for r in rows}
    assert good[0]["lines"] == "m;d"


BROKEN = {
    "a key that is not its columns'": dict(point_key=Point(m=17).key()),
    "a mode that is no mode's name": dict(mode="side ways/"),
    "an empty mode": dict(mode=""),
    "an unknown status": dict(status="fine"),
    "an empty status": dict(status=""),
    "a cut timestamp": dict(finished_utc="2026-01-01T00:0"),
    "a timestamp with more after it": dict(finished_utc="2026-01-01T00:00:00Zjunk"),
    "a negative time": dict(time_median_s="-0.001"),
    "a median of zero (no call takes no time)": dict(time_median_s="0"),
    "a quickest time of zero": dict(time_min_s="0.0"),
    "a negative count": dict(ops_total="-1"),
    "a negative memory estimate": dict(mem_estimate_bytes="-8"),
    "an infinite time": dict(time_median_s="inf"),
    "a NaN time": dict(time_min_s="nan"),
    "an IQR that is not a number": dict(time_iqr_s="fast"),
    "an infinite IQR": dict(time_iqr_s="inf"),
    "an empty count": dict(ops_total=""),
    "a count that is not an integer": dict(rounds="5.5"),
    "a memory estimate that is not an integer": dict(mem_estimate_bytes="1e3"),
    "a predicted count that is not an integer": dict(ops_predicted="1.5"),
    "bad point columns": dict(m="many"),
}


@pytest.mark.parametrize("what", sorted(BROKEN))
def test_a_row_that_breaks_one_check_is_left_out(tmp_path, what):
    good, bad = read_back(tmp_path, [row("reverse", m=8), row(**BROKEN[what])])
    assert [r["mode"] for r in good] == ["reverse"] and len(bad) == 1, what
    assert bad[0][0] == 3  # the line it is on


def test_a_row_with_more_fields_than_the_header_is_left_out(tmp_path):
    text = format_rows([row()]).rstrip("\n") + ",extra\n" + format_rows([row("reverse")]).split("\n", 1)[1]
    good, bad = read_back(tmp_path, None, text)
    assert [r["mode"] for r in good] == ["reverse"] and bad == [(2, "wrong number of fields")]


def test_a_binary_file_is_damaged_not_read(tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(format_rows([row()]).encode() + b"\0\0")
    with pytest.raises(DamagedError, match="not a text file"):
        read_checked(path)


def test_a_list_is_written_as_its_items_joined_by_semicolons(tmp_path):
    """The lines column holds the lines a point lies on: a list, one cell ("m;d")."""
    good, bad = read_back(tmp_path, [row(lines=["m", "d = m"])])
    assert bad == [] and good[0]["lines"] == "m;d = m"


def test_a_copied_run_keeps_the_statistics_and_drops_the_per_round_times(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    store.upsert_rows(src / "points.csv", [row(), row("reverse")])
    store.write_json(src / "meta.json", {"run_id": "src"})
    stats = {"median": 1e-3, "rounds": 3, "data": [1e-3, 1.1e-3, 0.9e-3]}
    store.write_json(src / "pytest-benchmark.json",
                     {"benchmarks": [{"name": "b", "fullname": "t.py::b", "stats": dict(stats)}]})
    store.copy_run(src, dst)
    copied = store.read_json(dst / "pytest-benchmark.json")["benchmarks"][0]["stats"]
    assert copied == {"median": 1e-3, "rounds": 3}
    assert store.read_rows(dst / "points.csv") == store.read_rows(src / "points.csv")
    assert store.read_json(dst / "meta.json") == {"run_id": "src"}
