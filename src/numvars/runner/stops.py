"""How a run stops: Ctrl-C and SIGTERM (:class:`Interrupted`, :func:`stop_on_sigterm`), lost
workers (:class:`WorkersLost`), and the main-module guard that spawned local workers need
(:func:`check_main_guard`, :class:`MainGuardError`).
"""

from __future__ import annotations

import ast
import contextlib
import multiprocessing
import signal
import sys
import threading
import tokenize

from numvars.store import Store


class Stopped(KeyboardInterrupt):
    """SIGTERM arrived (see :func:`stop_on_sigterm`): a stop like Ctrl-C, which raises a plain
    ``KeyboardInterrupt``; ``signum`` says which signal."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def stop_signal(stop: BaseException) -> int:
    """The signal behind a ``KeyboardInterrupt``: its ``signum``, else SIGINT (Ctrl-C)."""
    return int(getattr(stop, "signum", signal.SIGINT))


def stop_reason(stop: BaseException) -> str:
    """``"interrupted"`` for Ctrl-C, ``"stopped by SIGTERM"`` for SIGTERM: how a stop message starts."""
    signum = stop_signal(stop)
    return "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"


def stop_exit_code(stop: BaseException) -> int:
    """The shell's code for a stop: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + stop_signal(stop)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during :func:`ensure`: ``saved`` of ``total`` results of this call are in ``store``."""

    def __init__(self, saved: int, total: int, store: Store, signum: int = signal.SIGINT):
        self.saved, self.total, self.store, self.signum = saved, total, store, signum
        super().__init__(f"{self.reason}: {saved} of {total} results saved in {store.root}")

    @property
    def reason(self) -> str:
        return stop_reason(self)

    @property
    def exit_code(self) -> int:
        return stop_exit_code(self)


class WorkersLost(RuntimeError):
    """The workers could not finish the jobs (a worker died mid-job, no Dask worker left);
    ``saved`` of ``total`` results of this call are in ``store``."""

    def __init__(self, why: str, saved: int, total: int, store: Store):
        super().__init__(
            f"{why}; {saved} of the {total} results this stage was computing are saved in {store.root}: "
            "run the same command again to resume (nothing saved is recomputed)"
        )
        self.saved, self.total, self.store = saved, total, store


class MainGuardError(RuntimeError):
    """:func:`ensure` with worker processes called where Python cannot start them: at the top
    level of a script, which every spawned worker imports again."""


class _Lost(Exception):
    """An executor's workers could not finish; :func:`_compute` adds what was saved."""


def _raise_stopped(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_sigterm():
    """Within this block SIGTERM raises :class:`Stopped` (a ``KeyboardInterrupt``) in the main
    thread, so it stops a run exactly as Ctrl-C does. Nothing changes off the main thread or
    where the program handles SIGTERM itself."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _stops_held():
    """Ignore Ctrl-C and SIGTERM while the workers are being ended (a second stop must not cut
    the clean-up short); the first stop is already being handled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def check_main_guard() -> None:
    """Raise :class:`MainGuardError` where worker processes cannot be started: while a spawned
    process imports the main module (Python's "bootstrapping phase"), or — found before any
    worker starts — from top-level code of a script outside ``if __name__ == "__main__":``."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise MainGuardError(_guard_message("this process is a worker that is importing the main module again"))
    site = _unguarded_call_site()
    if site is not None:
        raise MainGuardError(_guard_message(f"it is called from {site[0]}, line {site[1]}, outside that block"))


def _guard_message(why: str) -> str:
    return (
        "numvars.runner.ensure with worker processes (workers > 1 or scheduler='local') must run under "
        f'`if __name__ == "__main__":` in a script, because every worker imports the script again; {why}. '
        "Put the call (or the code that leads to it) in that block, or pass workers=1"
    )


def _unguarded_call_site() -> tuple[str, int] | None:
    """(file, line) of the top-level statement of the main script that led here, if that statement
    is not inside an ``if __name__ == "__main__":`` block; ``None`` if it is, or if the main module is
    no script that spawned workers import again (an interactive session, ``python -c``, a notebook)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    frame = sys._getframe(1)
    while frame is not None and not (
        frame.f_code.co_name == "<module>" and frame.f_globals is vars(main) and frame.f_code.co_filename == path
    ):
        frame = frame.f_back
    if frame is None:
        return None
    try:
        with tokenize.open(path) as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    guarded = any(
        isinstance(node, ast.If)
        and _is_main_test(node.test)
        and node.body[0].lineno <= line <= node.body[-1].end_lineno
        for node in ast.walk(tree)
    )
    return None if guarded else (path, line)


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {ast.dump(test.left), ast.dump(test.comparators[0])}
    return sides == {ast.dump(ast.Name("__name__", ast.Load())), ast.dump(ast.Constant("__main__"))}
