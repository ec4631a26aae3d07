"""What a data location is: a local folder, or an fsspec URL (s3://, file://, ...) for the Dask engine.

A URL may carry credentials (s3://KEY:SECRET@bucket/path, https://user:pass@host/x) or a token in
its query (?token=..., sig=, X-Amz-Signature=): the real URL is used to read, and only `redact`ed
text is ever shown or stored (console, log lines, churn-error.log, the manifest, MLflow).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

HIDDEN = "***"
# scheme://userinfo@ : userinfo without a slash (the standard form), or with a colon (a secret key
# that holds a '/', written unencoded); an '@' later in a path without a colon is left alone
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)(?:[^\s/@'\"]+|[^\s@'\"]*:[^\s@'\"]*)@")
# a query or fragment parameter whose name says it holds a secret: its value is hidden
_SECRET_PARAMETER = re.compile(r"([?&;#](?:[\w.\-]*?(?:token|sig|signature|secret|password|passwd|pwd|key|"
                               r"credential|auth)[\w.\-]*)=)[^&#\s'\"]*?(?=:?(?:[&#\s'\"]|$))", re.IGNORECASE)


def is_url(data: Path | str) -> bool:
    """A data location given as an fsspec URL (s3://, file://, ...) rather than a local folder."""
    return "://" in str(data)


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it hidden: user and password, and the values of
    query parameters that hold a token or signature. Pure; anything else is left as it was."""
    return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", _USERINFO.sub(rf"\g<1>{HIDDEN}@", str(text)))


def data_location(data: Path | str) -> str:
    """A data folder as manifests and runs record it: absolute when local, the URL without its
    credentials otherwise (never the URL itself)."""
    if is_url(data):
        return redact(str(data))
    try:
        return str(Path(data).resolve())
    except (OSError, RuntimeError):  # a symbolic link loop: the path as given, made absolute
        return str(Path(data).absolute())


class RedactingFilter(logging.Filter):
    """A log handler's filter: each line `redact`ed before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True
