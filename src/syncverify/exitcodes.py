"""Process exit codes of the ``syncverify`` command, shared by every subcommand."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``syncverify`` exit status means.

    OK          0  everything checked is consistent / the command did what was asked
    DIFFERENCES 1  the command ran and found differences or failed expectations
    ERROR       2  bad input or an unreachable database: one message on stderr, nothing checked
                   (or, for runs, some checks did not run; their results say which)
    CLOSED_PIPE 141 the reader of stdout went away (``syncverify … | head -1``): the output was
                   cut short, so the command ends quietly with 128 + SIGPIPE, like any Unix
                   tool killed by SIGPIPE; with ``set -o pipefail`` a script sees it
    """

    OK = 0
    DIFFERENCES = 1
    ERROR = 2
    CLOSED_PIPE = 141
