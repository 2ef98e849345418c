"""Lambda functions (no torch): validate_input, record_result, record_failure, status_change, api."""
