"""fwdrev textbook: `python -m modes textbook` under the one command (its --help names it as
typed)."""
from __future__ import annotations


def main(argv=None, command="textbook") -> int:
    from bench import cmdline as cli
    from modes.__main__ import textbook_main
    return textbook_main(list(argv or []), cli.prog(command))
