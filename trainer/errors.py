"""The one base class of every error whose message is meant for the user.

Code that raises a ``UserError`` promises that ``str(err)`` is a complete, one-line explanation
(what went wrong and, where it can, what to do); a boundary (a CLI command, a background job in
the GUI) shows that text whole and prints no traceback. Any other exception reaching a boundary
is a bug in the program and is reported as an internal error with its traceback.

Each area keeps its own subclass (``ConfigError``, ``CheckpointError``, ``DataError``,
``ExportError``, ...) so callers can still catch one kind; a boundary catches ``UserError`` and
needs no list that drifts as kinds are added. It lives in ``trainer`` because both ``trainer``
and ``explorer`` raise it, and ``trainer`` never imports ``explorer``.
"""

from __future__ import annotations


class UserError(Exception):
    """An error with a message for the user; see the module docstring."""
