"""The rollback decision: migration analysis and the runbook's scenario classification."""
