"""The runbook's steps, one module per section, over one rehearsal context."""
