"""``python -m numvars``: see :mod:`numvars.cli`."""

import sys

if __name__ == "__main__":
    try:
        from numvars.cli import main
    except KeyboardInterrupt:  # Ctrl-C while torch and friends load: nothing has started yet
        print("\ninterrupted while starting; nothing was computed", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
