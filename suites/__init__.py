"""The rehearsal suites: what ``pytest --jitera-from=A --jitera-to=B`` runs.

Installed as ``pytest_jitera.suites``; the plugin points a rehearsal without explicit paths at
this folder, in any project, so the headline command works from an empty folder.
"""
