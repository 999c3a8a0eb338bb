"""The one exception fwdrev raises for bad input: a ValueError with a one-line message."""


class FwdrevError(ValueError):
    """Bad input or an impossible request, explained in one line."""


def check(condition, message):
    """Raise FwdrevError(message) unless condition holds."""
    if not condition:
        raise FwdrevError(message)


def choose(name, value, options):
    """Return options[value], or raise naming the unknown value and the known ones."""
    if value not in options:
        known = ", ".join(sorted(map(str, options)))
        raise FwdrevError(f"unknown {name} {value!r} (known: {known})")
    return options[value]
