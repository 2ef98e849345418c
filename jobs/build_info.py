"""What the job image was built from. jobs/Dockerfile rewrites this file at build time with the commit
it was given (``--build-arg AIORCH_COMMIT=$(git rev-parse HEAD)``); a checkout or a build without one
says None ("unknown" in the provenance). Never computed at run time: a job has no git.
"""

COMMIT: str | None = None
