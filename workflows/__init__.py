"""The state machine definitions (``*.asl.json``) and the local states service (``workflows.local``)."""
