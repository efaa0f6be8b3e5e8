"""Reading Rails migrations the way the rollback decision needs them.

The runbook asks three questions of a release pair: which migration files are new (or gone),
whether any new one destroys schema the old code still relies on, and whether the old code
really relies on it. One module answers each; :mod:`pytest_jitera.decision.classify` combines them.
Nothing here imports pytest.
"""
