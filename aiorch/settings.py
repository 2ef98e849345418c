"""One pydantic settings model for the whole product.

Every value can be set by an environment variable named ``AIORCH_<FIELD>``
(for example ``AIORCH_JOB_SLOTS=4``). Nothing else in the code reads the
environment for configuration.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aiorch.contracts import Operation
from aiorch.registry import OPERATIONS

MB = 1024 * 1024
# The settings that named one operation's pixel limit before max_pixels_by_operation (environment
# variables people set: AIORCH_MAX_PIXELS_UPSCALE...). A new operation needs none; detect_text takes
# inpaint's limit as the preview it is.
_OLDER_MAX_PIXELS_FIELDS = {
    "upscale": "max_pixels_upscale",
    "denoise": "max_pixels_denoise",
    "inpaint": "max_pixels_inpaint",
}


def _default_data_dir() -> Path:
    # XDG data home, as the issue asks; not configuration, just the fallback location.
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "aiorch"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIORCH_", extra="ignore")

    # --- where things live ------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir, description="Root of local state.")
    storage_url: str | None = Field(
        default=None,
        description="s3://bucket[/prefix] for S3; a directory path or file:// URI for local; "
        "default: <data_dir>/storage.",
    )
    s3_endpoint_url: str | None = Field(default=None, description="Custom S3 endpoint (MinIO, moto).")
    weights_dir: Path | None = Field(
        default=None,
        description="Folder of model weights (.pth/.safetensors/.pt): where `aiorch weights pull` puts the "
        "registry's files and the jobs look for them; default: <data_dir>/models (the job image: "
        "/opt/aiorch/weights).",
    )
    weights_manifest: str | None = Field(
        default=None,
        description="The job image's weights manifest (jobs/Dockerfile writes /opt/aiorch/weights/manifest.json): "
        "a file path or an s3:// / file:// URI. Set where the API cannot see the jobs' weights folder (AWS): "
        "GET /operations marks models installed from it, and a request for one not installed is refused. "
        "Unset: the weights folder on this machine decides, or nothing is known when state_machine_arn is set.",
    )
    weights_cache_dir: Path | None = Field(
        default=None, description="Converted weights cache; default: <data_dir>/weights."
    )
    drunet_weights: Path | None = Field(
        default=None, description="DRUNet weights for denoise; without them denoise uses BM3D (named a fallback)."
    )
    lama_weights: Path | None = Field(
        default=None, description="LaMa weights for inpaint; without them inpaint uses OpenCV (named a fallback)."
    )
    aws_region: str = "us-east-1"
    index_url: str | None = Field(
        default=None,
        description="The execution index: dynamodb://<table> in AWS; a SQLite file path locally; "
        "default: <data_dir>/index.sqlite3.",
    )
    dynamodb_endpoint_url: str | None = Field(default=None, description="Custom DynamoDB endpoint (moto).")

    # --- the states service -----------------------------------------------------
    states_endpoint_url: str | None = Field(
        default=None, description="Step Functions endpoint; default: the local states service."
    )
    states_host: str = "127.0.0.1"
    states_port: int = 8123
    state_machine_name: str = "image-ai-analysis"
    state_machine_arn: str | None = Field(default=None, description="Set in AWS; local derives it.")
    batch_job_queue: str | None = Field(
        default=None,
        description="AWS: the Batch job queue (name or ARN) the state machine submits to; the status-change "
        "handler terminates an ended execution's unfinished jobs there. Unset (local): nothing to end there, "
        "the local service's watchdog stops local jobs itself.",
    )
    job_slots: int = Field(default=2, ge=1, description="Model jobs running at once locally.")
    gpu_wait_limit_s: float = Field(
        default=900.0,
        gt=0,
        description="A local job still waiting for a free job slot after this long fails, and its execution with it, "
        "saying so (no job starts after its execution gave up). The same figure as the Batch queue's "
        "queue_start_allowance_s default (iac/modules/batch/variables.tf); keep it below job_timeout_s, which "
        "locally counts the wait too.",
    )
    job_stop_check_s: float = Field(default=1.0, gt=0, description="How often the watchdog looks.")
    job_python: str | None = Field(default=None, description="Interpreter for local jobs.")
    job_module: str = Field(default="jobs", description="Module run as `python -m <module>` for local jobs.")
    job_workers: bool = Field(
        default=True,
        description="Run local jobs in warm worker processes (one per job slot, torch imported, recent models "
        "kept loaded); false: a cold `python -m <job_module>` process per job (workflows/local/workers.py).",
    )
    job_worker_max_rss_mb: int = Field(
        default=0,
        ge=0,
        description="A warm worker whose resident memory passes this after a job is replaced, dropping its "
        "models; 0: the machine's memory divided by the job slots.",
    )
    job_device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$",
        description="Device a job must run on: auto (a GPU when usable, else the CPU), cpu, cuda or cuda:N. "
        "AWS Batch sets cuda, so a host whose GPU torch cannot use fails the job at once (jobs/devices.py).",
    )
    job_spawned_at: float | None = Field(
        default=None,
        description="Set by the local job runner, not by hand: the epoch time (s) it started this job's process "
        "or handed the job to a warm worker; a process cannot time its own start (metadata timings_s.startup).",
    )
    job_worker_startup_s: float | None = Field(
        default=None,
        description="Set by a warm worker for each job it runs: its own start-up (spawn to ready, torch "
        "imported), reported in metadata.worker apart from the job's timings.",
    )
    states_restart_backoff_s: float = Field(
        default=1.0,
        gt=0,
        description="`aiorch serve` restarts a dead local states service after this pause, doubled after each "
        "restart that did not last, up to states_restart_max_backoff_s; it never gives up.",
    )
    states_restart_max_backoff_s: float = Field(
        default=60.0, gt=0, description="The longest pause between restarts of the local states service."
    )
    states_supervise_check_s: float = Field(
        default=1.0, gt=0, description="How often `aiorch serve` checks that the local states service lives."
    )
    states_dispatch_file: Path | None = Field(
        default=None,
        description="JSON adding Lambda names → handlers and Batch queue/definition names to the local "
        "states service (workflows/README.md).",
    )

    # --- limits -----------------------------------------------------------------
    upload_max_bytes: int = 50 * MB
    # Each operation's limit on width x height is its registry module's max_pixels unless set here:
    # AIORCH_MAX_PIXELS_BY_OPERATION='{"upscale": 8000000}'. The per-operation fields are the older way to
    # say the same for three of them (kept: they are configuration people set); the dict wins over them.
    max_pixels_by_operation: dict[str, int] = Field(
        default_factory=dict, description="Pixel limits by operation name, over the registry's defaults."
    )
    max_pixels_upscale: int | None = Field(default=None, gt=0, description="The upscale pixel limit (older name).")
    max_pixels_denoise: int | None = Field(default=None, gt=0, description="The denoise pixel limit (older name).")
    max_pixels_inpaint: int | None = Field(
        default=None, gt=0, description="The inpaint (and its detect_text preview's) pixel limit (older name)."
    )

    # --- state machine timeouts and retries -------------------------------------
    lambda_timeout_s: int = 60
    job_timeout_s: int = 3600
    # Lambda throttling (a new account may run 10 functions at once) lasts tens of seconds: 8 retries,
    # 2 s doubling up to 30 s, full jitter (about 150 s at most) instead of 3 over about 7 s.
    lambda_retry_max_attempts: int = 8
    batch_throttle_retry_max_attempts: int = 5
    retry_backoff_rate: float = 2.0

    # --- users --------------------------------------------------------------------
    local_user: str = "local"
    max_running_executions_per_user: int = 4  # a batch counts once
    # --- admission: a bound on queued work (images of running executions, queued or at work) ---
    max_queued_images: int = Field(
        default=0, ge=0, description="Images queued for everyone past which a submit answers 503; 0: unlimited."
    )
    max_queued_images_per_user: int = Field(
        default=0, ge=0, description="Images one user may have queued; past it a submit answers 429; 0: unlimited."
    )
    queue_seconds_per_image: float = Field(
        default=30.0,
        gt=0,
        description="GPU seconds one image takes on average: a refusal's 'minutes of work ahead' and Retry-After.",
    )

    # --- batches: many images in one request (one execution, a Map over chunks) ------
    batch_max_images: int = Field(
        default=50, ge=1, le=50, description="Images one request may carry (Step Functions' payload and history)."
    )
    batch_chunk_images: int = Field(
        default=10, ge=1, le=50, description="Images per job: each job pays its start and model load once."
    )

    # --- web ----------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    frontend_dir: Path | None = Field(default=None, description="Built front end; default: frontend/dist.")
    signed_url_ttl_s: int = Field(default=900, gt=0, description="Lifetime of upload/download links.")
    # Auth. With auth_issuer unset, the local issuer (a per-install RSA key under data_dir) signs tokens.
    auth_issuer: str | None = Field(
        default=None, description="Cognito: https://cognito-idp.<region>.amazonaws.com/<pool id>."
    )
    auth_jwks_url: str | None = Field(default=None, description="Default: <auth_issuer>/.well-known/jwks.json.")
    auth_client_id: str = Field(default="aiorch-local-spa", description="Cognito app client id (audience).")
    auth_domain: str | None = Field(default=None, description="Cognito Hosted UI base URL, for /authorize.")
    auth_redirect_uri: str | None = Field(default=None, description="The SPA's OAuth redirect URI.")
    auth_refresh_token_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description="Lifetime of Cognito's refresh tokens (the app client's refresh_token_validity, days; "
        "Terraform passes it); the HttpOnly refresh cookie lives exactly as long.",
    )
    local_token_ttl_s: int = Field(default=12 * 3600, gt=0, description="Lifetime of local tokens.")
    local_auto_sign_in: bool = Field(default=True, description="Sign the local user in (loopback only).")
    api_origin_secret: str | None = Field(
        default=None,
        description="AWS: the value CloudFront sends in X-Origin-Verify; the API Lambda refuses requests "
        "without it (lambdas/api/origin.py). Unset: no check (the local server).",
    )
    auth_analysts_group: str | None = Field(
        default=None, description="Cognito group that may read analytics; unset: every signed-in user."
    )

    # --- provenance: what made each result file, signed (aiorch/provenance.py) -------------
    provenance_key: SecretStr | None = Field(
        default=None,
        description="The deployment's key for signing the provenance written into each result file (any text; "
        "AWS: the Batch job's environment, from Secrets Manager). Unset: provenance_key_file.",
    )
    provenance_key_file: Path | None = Field(
        default=None,
        description="A file holding that key. Default: <data_dir>/auth/provenance-key, created once on first use "
        "(as the local link secret); a file named here is only read, and when it is missing the provenance is "
        "written unsigned (the job image names one, so a container never signs with a key of its own making).",
    )

    # --- what a run costs (aiorch/pricing.py) and what a user may spend -------------------
    instance_type: str | None = Field(
        default=None,
        description="The instance type jobs run on, for their price (aiorch/pricing.py's table): AWS Batch's job "
        "definition passes its compute environments' allowed types, comma-separated, because a container cannot "
        "read the instance metadata; one type prices exactly, several as the dearest (named a fallback). "
        "Unset: a local run, priced at local_price_per_gpu_hour_usd.",
    )
    capacity_type: Literal["on-demand", "spot"] | None = Field(
        default=None,
        description="Whether jobs run on On-Demand or Spot capacity; unset (the queue uses both): priced as "
        "On-Demand, named a fallback.",
    )
    spot_price_fraction: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="A Spot price as a fraction of the On-Demand one: an assumption, Spot prices vary by hour "
        "and zone.",
    )
    local_price_per_gpu_hour_usd: float = Field(
        default=0.0, ge=0, description="What an hour of a local job costs, USD; 0: local runs are free."
    )
    monthly_budget_usd: float = Field(
        default=0.0,
        ge=0,
        description="What one user may spend in a calendar month (UTC), USD: a submit whose estimate does not fit "
        "what is left is refused (429); 0: unlimited.",
    )

    # --- analytics ------------------------------------------------------------------
    # Prices are variables for the cost estimate, not claims about any provider's prices.
    gpu_price_per_hour_usd: float = Field(default=1.0, ge=0, description="Assumed hourly price of a GPU job.")
    cpu_price_per_hour_usd: float = Field(default=0.1, ge=0, description="Assumed hourly price of a CPU job.")
    athena_workgroup: str = Field(default="aiorch", description="Athena workgroup the AWS analytics run in.")
    athena_database: str = Field(default="aiorch", description="Glue database holding the results table.")
    analytics_runs_per_minute: int = Field(
        default=20, ge=0, le=10_000, description="Named-query runs one user may start a minute; 0: unlimited."
    )
    analytics_compaction: bool = Field(
        default=True,
        description="Fold each day's per-execution rows into one Parquet file before a local answer (and on the "
        "scheduled sweep in AWS); off only to measure the uncompacted layout.",
    )

    @field_validator("max_pixels_by_operation")
    @classmethod
    def _known_operations(cls, limits: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(limits) - set(OPERATIONS))
        if unknown:
            raise ValueError(f"no operation is named {', '.join(unknown)}; the operations are {', '.join(OPERATIONS)}")
        if any(value <= 0 for value in limits.values()):
            raise ValueError("a pixel limit is a whole number above 0")
        return limits

    def max_pixels(self, operation: Operation | str) -> int:
        """The operation's limit on width x height: this setting's, else its registry module's; a preview
        (detect_text) takes that of the operation it previews, which runs on the same images."""
        name = Operation(operation).value
        if name in self.max_pixels_by_operation:
            return self.max_pixels_by_operation[name]
        older = getattr(self, _OLDER_MAX_PIXELS_FIELDS[name]) if name in _OLDER_MAX_PIXELS_FIELDS else None
        if older is not None:
            return int(older)
        definition = OPERATIONS[name]
        if definition.max_pixels is None and definition.preview_for is not None:
            return self.max_pixels(definition.preview_for)
        assert definition.max_pixels is not None  # the registry refuses an operation with neither
        return definition.max_pixels

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or str(self.data_dir / "storage")

    @property
    def resolved_index_url(self) -> str:
        return self.index_url or str(self.data_dir / "index.sqlite3")

    @property
    def resolved_weights_cache_dir(self) -> Path:
        return self.weights_cache_dir or self.data_dir / "weights"

    @property
    def resolved_weights_dir(self) -> Path:
        return self.weights_dir or self.data_dir / "models"

    @property
    def resolved_states_endpoint_url(self) -> str:
        return self.states_endpoint_url or f"http://{self.states_host}:{self.states_port}"

    @property
    def states_supervision_file(self) -> Path:
        """Where `aiorch serve` says how the local states service fares (its supervisor; /readyz reads it)."""
        return self.data_dir / "states" / "supervisor.json"

    @property
    def resolved_state_machine_arn(self) -> str:
        if self.state_machine_arn:
            return self.state_machine_arn
        return f"arn:aws:states:{self.aws_region}:123456789012:stateMachine:{self.state_machine_name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
