"""Step Functions as every component reaches it: the boto3 client and the history reader."""

from aiorch.states.client import execution_arn, states_client, states_endpoint
from aiorch.states.history import describe, history_events

__all__ = ["describe", "execution_arn", "history_events", "states_client", "states_endpoint"]
