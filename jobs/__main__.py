"""``python -m jobs ...``: see jobs/cli.py."""

import signal

# Block the stop signals before numpy, torch or onnxruntime start any thread: threads inherit
# this mask, so a SIGTERM can only be taken by the stop thread of jobs.signals.install_stop_handler,
# which writes error.json {"type": "Stopped"} before exiting.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

from jobs.cli import main, run_process  # noqa: E402, F401  (main: what a warm worker runs, jobs/worker.py)

if __name__ == "__main__":
    run_process()
