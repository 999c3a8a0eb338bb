"""The CI gate (`python -m bench regress|baseline`): engine time against a reference doing
the same products directly, and exact operation counts, against results/baseline.json.

    stats      pure decisions: median, bootstrap interval, band, verdict, count mismatches
    reference  the same products as each engine, written with the arrays' own operators
    measure    the gate's checks, engine/reference callables, ABBA timing, the canary
    baseline   the baseline file: schema, validation, recording in separate processes
    show       what the gate prints
    cli        the two commands and their exit codes
"""
