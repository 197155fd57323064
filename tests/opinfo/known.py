"""Ops whose sweep still finds mismatches: op -> the first finding (strict xfails: a fixed op fails
until it is removed here). Regenerate the findings with ``python -m tests.opinfo.report``."""

KNOWN = {
}
