"""A settable clock for moto_server (the chaos test only).

moto stamps key creation and last use with the real time, and can't be told otherwise; keyrot's
`--now` moves only keyrot's clock. A consumer that uses a key "now" would then look idle to keyrot
as soon as the simulated time runs ahead. With this module loaded (its directory first on PYTHONPATH)
and KEYROT_CHAOS_CLOCK_FILE set, moto's clock is the real time plus the number of seconds written in
that file, so IAM's CreateDate and LastUsedDate follow the same simulated timeline as `--now`.

It replaces moto.core.utils.utcnow before any moto service module imports it by name. It also turns
off loading AWS's managed IAM policies (lib/testbed/moto.ts turns it on): the chaos test attaches none,
and loading them costs about 3 s after every reset, that is after every run.
"""

import datetime
import os

import moto.core.utils as _utils

_real_utcnow = _utils.utcnow
_clock_file = os.environ.get("KEYROT_CHAOS_CLOCK_FILE")


def _shifted_utcnow() -> datetime.datetime:
    now = _real_utcnow()
    try:
        with open(_clock_file or "", encoding="utf-8") as f:
            offset = float(f.read().strip() or "0")
    except (OSError, ValueError):
        offset = 0.0
    return now + datetime.timedelta(seconds=offset)


if _clock_file:
    _utils.utcnow = _shifted_utcnow
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
