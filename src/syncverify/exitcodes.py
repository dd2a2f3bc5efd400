"""Process exit codes of the ``syncverify`` command, shared by every subcommand."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``syncverify`` exit status means.

    OK          0  everything checked is consistent / the command did what was asked
    DIFFERENCES 1  the command ran and found differences or failed expectations
    ERROR       2  bad input or an unreachable database: one message on stderr, nothing checked
                   (or, for runs, some checks did not run; their results say which)
    """

    OK = 0
    DIFFERENCES = 1
    ERROR = 2
