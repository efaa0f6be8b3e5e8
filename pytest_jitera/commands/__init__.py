"""Subcommands of the pytest-jitera CLI, one module each."""
