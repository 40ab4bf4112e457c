"""`python -m bench <name> [options]`: search, profile, export."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    name, rest = sys.argv[1], sys.argv[2:]
    if name == "search":
        from bench import search

        search.main(rest)
    elif name == "profile":
        from bench import profile

        profile.main(rest)
    elif name == "export":
        from bench import export

        export.main(rest)
    else:
        sys.exit(f"Unknown benchmark {name!r}. " + (__doc__ or ""))


main()
