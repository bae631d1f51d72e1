"""The suite's own footing: pytest's log capture must not trip over loggers other threads create mid-test."""

from __future__ import annotations

import logging
import threading

from _pytest.logging import LogCaptureHandler, catching_logs


def test_attaching_log_capture_survives_loggers_made_by_another_thread():
    loggers = logging.Logger.manager.loggerDict
    for i in range(2000):  # non-propagating loggers are the ones pytest walks to attach its handler
        logging.getLogger(f"test_log_capture.pre.{i}").propagate = i % 2 == 0
    stop = threading.Event()

    def make_loggers():  # as an import in a server thread does; dropped again so the registry stays small
        while not stop.is_set():
            logging.getLogger("test_log_capture.bg")
            with logging._lock:
                del loggers["test_log_capture.bg"]

    thread = threading.Thread(target=make_loggers, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # unguarded, ~60 % of these raise "dictionary changed size during iteration"
            capture = catching_logs(LogCaptureHandler())
            capture.__enter__()
            capture.__exit__(None, None, None)
    finally:
        stop.set()
        thread.join()
        with logging._lock:
            for name in [n for n in loggers if n.startswith("test_log_capture.")]:
                del loggers[name]
