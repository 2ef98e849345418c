"""A small Terraform runner for the IaC tests: offline (the project's CLI config points at the
machine's provider mirror), with its working data and state in a scratch folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
IAC = REPO / "iac"
CLI_CONFIG = IAC / "terraformrc"
DEV_ENV = IAC / "envs" / "dev"


def terraform_missing_reason() -> str | None:
    """Why Terraform cannot run here, or None when it can."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH"
    mirror = next(
        (line.split('"')[1] for line in CLI_CONFIG.read_text().splitlines() if line.strip().startswith("path")),
        None,
    )
    if mirror is None or not Path(mirror).is_dir():
        return f"the provider mirror named in {CLI_CONFIG} ({mirror}) is missing"
    return None


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


class TerraformError(RuntimeError):
    """A terraform command failed; the message holds the end of its output."""


@dataclass
class Terraform:
    root: Path
    scratch: Path
    env: dict[str, str] = field(default_factory=dict)
    # An emulator on a busy 2-core machine answers slowly under Terraform's default 10
    # concurrent calls; the provider's retries then re-send creates that had succeeded
    # (CloudFront answers 409 "DistributionAlreadyExists").
    parallelism: int = 4

    @property
    def state(self) -> Path:
        return self.scratch / "terraform.tfstate"

    def run(self, *args: str, timeout_s: float = 600) -> str:
        env = os.environ | {
            "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
            "TF_DATA_DIR": str(self.scratch / "tf-data"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        } | self.env  # fmt: skip
        try:
            result = subprocess.run(
                ["terraform", f"-chdir={self.root}", *args, "-no-color"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as timeout:
            # Say which resources were still being made: that is what a hang needs to be found.
            seen = _text(timeout.stdout) + _text(timeout.stderr)
            raise TerraformError(f"terraform {args[0]} ran past {timeout_s:.0f} s:\n{seen[-6000:]}") from None
        if result.returncode != 0:
            raise TerraformError(f"terraform {args[0]} failed:\n{(result.stdout + result.stderr)[-6000:]}")
        return result.stdout

    def init(self) -> None:
        # The root's committed .terraform.lock.hcl decides the provider; a mismatch fails here.
        self.run("init", "-backend=false", "-input=false", "-lockfile=readonly")

    def apply(self, variables: dict[str, str], *, destroy: bool = False) -> str:
        var_args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
        extra = ["-destroy"] if destroy else []
        return self.run(
            "apply", *extra, "-auto-approve", "-input=false", f"-parallelism={self.parallelism}",
            f"-state={self.state}", *var_args,
        )  # fmt: skip

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json", f"-state={self.state}"))
        return {name: entry["value"] for name, entry in raw.items()}
