"""The local states service: the same state machine definition, run by moto's ASL interpreter.

One process (``python -m workflows.local serve``) holds a moto server with
execution turned on, four botocore hooks that bind Lambda tasks to handler
functions and Batch tasks to local job processes, and a watchdog. Other code
reaches it only through a boto3 ``stepfunctions`` client (``client.states_client``).
"""

from __future__ import annotations

# The names the local deployment gives the definition's placeholders.
LOCAL_VALUES: dict[str, str] = {
    "validate_input_function": "aiorch-validate-input",
    "record_result_function": "aiorch-record-result",
    "record_failure_function": "aiorch-record-failure",
    "job_queue": "aiorch-local-queue",
    "job_definition": "aiorch-job",
}
