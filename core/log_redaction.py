"""Keeps keys out of the log: a buyer's self-service link (`/my/<signed token>/...`) opens their
page, so a logged request path ("Bad Request: /my/...") would hand it to whoever reads logs."""

import logging
import re

SIGNED_LINK = re.compile(r"/my/[^/\s]+/")
HIDDEN = "/my/<link>/"


class HideSignedLinks(logging.Filter):
    """Rewrites a self-service link's token in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = SIGNED_LINK.sub(HIDDEN, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                SIGNED_LINK.sub(HIDDEN, arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
