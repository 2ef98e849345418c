"""Write jobs/requirements.lock: the pinned closure of aiorch[jobs] as installed in this environment.

    .venv/bin/python jobs/requirements_lock.py > jobs/requirements.lock

The job image installs with ``-c jobs/requirements.lock``, so it gets the versions the tests ran with.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution

from packaging.markers import default_environment
from packaging.requirements import Requirement


def wanted(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**default_environment(), "extra": e}) for e in ["", *sorted(extras)])


def pinned_closure(root: str, extras: set[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    todo = [Requirement(r) for r in distribution(root).requires or [] if wanted(Requirement(r), extras)]
    while todo:
        requirement = todo.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            continue  # a dependency for another platform
        if name in pins and not requirement.extras:
            continue
        pins[name] = dist.version
        todo += [Requirement(r) for r in dist.requires or [] if wanted(Requirement(r), set(requirement.extras))]
    return pins


if __name__ == "__main__":
    print("# Exact versions for the job image: aiorch's core dependencies plus the 'jobs' extra, as installed and")
    print("# tested in the development environment (Python 3.11, linux x86_64). jobs/Dockerfile installs with -c.")
    print("# Regenerate: .venv/bin/python jobs/requirements_lock.py > jobs/requirements.lock")
    for package, version in sorted(pinned_closure("aiorch", {"jobs"}).items()):
        print(f"{package}=={version}")
