"""What the gate writes for CI besides its table: a JSON document, a Markdown summary and
JUnit XML, all from one document (`document`).

    --json PATH       {"schema", "verdict", "exit_code", "fingerprint", "canaries",
                       "timing": [one object per check and mode: point, key, mode, small,
                                  statistic (median t_engine / t_reference), lo, hi
                                  (its 95% bootstrap interval), band, baseline, verdict, ...],
                       "counts": [one object per counted point: point, key, verdict, problems]}
    --summary PATH    Markdown; also appended to $GITHUB_STEP_SUMMARY when that is set
    --junit PATH      JUnit XML: one test case per timed check and mode, one per counted point

Paths are checked before the gate runs (a folder that is missing or not writable is a usage
error, exit 2, and nothing is written); each file is written atomically.
"""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from bench.cmdline import check_file
from bench.gate import stats
from bench.store import atomic_write

SCHEMA = "fwdrev-gate/1"
VERDICTS = {0: "pass", 1: "regressed", 2: "usage error", 3: "baseline unusable",
            5: "exact gate failed", 6: "unknown point"}
FLAGS = (("json", "the verdict, exit code, fingerprint and every check's statistic and band, "
                  "as JSON"),
         ("summary", "a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)"),
         ("junit", "JUnit XML, one test case per check"))


def add_arguments(ap):
    for name, what in FLAGS:
        ap.add_argument(f"--{name}", metavar="PATH", help=f"write {what} here")


def check_paths(args):
    """UsageError (one line) unless every output path can be written (cmdline.check_file)."""
    for name, _ in FLAGS:
        if getattr(args, name, None) is not None:
            check_file(f"--{name}", getattr(args, name))


def document(code, fingerprint, count_rows, timing_rows, canaries="", error=None) -> dict:
    """The gate's outcome as one JSON-ready object."""
    timing = [{"point": r["point"], "key": r["key"], "mode": r["mode"], "small": r["small"],
               "statistic": r["ratio"], "lo": r["lo"], "hi": r["hi"], "band": r["band"],
               "baseline": r["baseline"], "tol": r["tol"], "verdict": r["verdict"],
               "failed": stats.fails(r["verdict"]), "blocks": r["blocks"],
               "remeasured": r["remeasured"], "first": r.get("first"),
               "t_engine_s": r["t_engine"], "t_reference_s": r["t_reference"]}
              for r in timing_rows]
    counts = [{"point": r["point"], "key": r["key"],
               "verdict": "mismatch" if r["problems"] else "equal", "problems": r["problems"]}
              for r in count_rows]
    doc = {"schema": SCHEMA, "verdict": VERDICTS.get(code, "error"), "exit_code": code,
           "fingerprint": fingerprint, "canaries": canaries, "timing": timing, "counts": counts}
    if error:
        doc["error"] = error
    return doc


def markdown(doc) -> str:
    """A CI step summary: the verdict, then one table row per timed check."""
    head = f"## fwdrev regress: {doc['verdict'].upper()} (exit {doc['exit_code']})\n\n"
    if doc.get("error"):
        head += f"error: {doc['error']}\n\n"
    if doc["canaries"]:
        head += f"canary: {doc['canaries']}\n\n"
    bad_counts = [p for c in doc["counts"] for p in c["problems"]]
    head += (f"exact gate: {len(doc['counts'])} point(s), "
             + (f"{len(bad_counts)} mismatch(es)\n\n" if bad_counts else "all counts equal\n\n"))
    head += "".join(f"- {p}\n" for p in bad_counts)
    if not doc["timing"]:
        return head
    lines = ["| point | mode | size | engine/reference | 95% interval | band | verdict |",
             "|---|---|---|---:|---|---|---|"]
    for r in doc["timing"]:
        mark = "**" if r["failed"] else ""
        lines.append(f"| {r['point']} | {r['mode']} | {'small' if r['small'] else 'large'} | "
                     f"{r['statistic']:.3f} | [{r['lo']:.3f}, {r['hi']:.3f}] | "
                     f"[{r['band'][0]:.3f}, {r['band'][1]:.3f}] | {mark}{r['verdict']}{mark} |")
    return head + "\n".join(lines) + "\n"


def junit(doc) -> str:
    """JUnit XML: a failure element on each regressed ratio and each count mismatch."""
    suite = ET.Element("testsuite", name="fwdrev regress")
    cases = 0
    failures = 0
    for r in doc["timing"]:
        case = ET.SubElement(suite, "testcase", classname="fwdrev.regress.timing",
                             name=f"{r['point']} {r['mode']}")
        case.set("time", f"{r['t_engine_s']:.9f}")
        text = (f"engine/reference {r['statistic']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}], "
                f"band [{r['band'][0]:.3f}, {r['band'][1]:.3f}]: {r['verdict']}")
        if r["failed"]:
            ET.SubElement(case, "failure", message=text)
            failures += 1
        else:
            ET.SubElement(case, "system-out").text = text
        cases += 1
    for c in doc["counts"]:
        case = ET.SubElement(suite, "testcase", classname="fwdrev.regress.counts", name=c["point"])
        if c["problems"]:
            ET.SubElement(case, "failure", message="; ".join(c["problems"]))
            failures += 1
        cases += 1
    if doc.get("error"):
        case = ET.SubElement(suite, "testcase", classname="fwdrev.regress", name="gate")
        ET.SubElement(case, "error", message=doc["error"])
        cases += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "1" if doc.get("error") else "0")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_all(args, doc):
    """Write each output asked for; a write that fails now is a warning (the verdict stands)."""
    todo = [(getattr(args, "json", None), lambda: json.dumps(doc, indent=1) + "\n"),
            (getattr(args, "summary", None), lambda: markdown(doc)),
            (getattr(args, "junit", None), lambda: junit(doc))]
    for path, text in todo:
        if path:
            try:
                atomic_write(Path(path), text())
            except OSError as e:
                print(f"warning: cannot write {path}: {e.strerror}")
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        try:
            with open(step, "a", encoding="utf-8") as fh:
                fh.write(markdown(doc))
        except OSError as e:
            print(f"warning: cannot append to $GITHUB_STEP_SUMMARY {step}: {e.strerror}")
