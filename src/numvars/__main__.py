"""``python -m numvars``: see :mod:`numvars.cli`."""

import signal
import sys


def _stop_while_starting(signum, frame):
    raise KeyboardInterrupt(signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_while_starting)  # SIGTERM is a stop like Ctrl-C from the start
    try:
        from numvars.cli import main
    except KeyboardInterrupt as stop:  # while torch and friends load: nothing has started yet
        signum = stop.args[0] if stop.args else signal.SIGINT
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(f"\n{how} while starting; nothing was computed", file=sys.stderr)
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # numvars.cli.main handles it from here
    sys.exit(main())
