"""Access logs without query strings: GET /graphql carries the document and its variables
(names, emails) in the URL, and the access log is written at INFO."""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class StripQueryStrings(logging.Filter):
    """Cuts `?...` from the path uvicorn's access log records (its third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    logging.getLogger(ACCESS_LOGGER).addFilter(StripQueryStrings())
