"""fwdrev textbook: `python -m modes textbook` under the one command."""
from __future__ import annotations


def main(argv=None, command="textbook") -> int:
    from modes.__main__ import main as modes_main
    return modes_main(["textbook", *(argv or [])])
