"""``python -m jobs ...``: see jobs/cli.py."""

from jobs.cli import run_process

if __name__ == "__main__":
    run_process()
