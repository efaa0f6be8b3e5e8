"""The runbook's steps, one module per section, each step a function of one rehearsal context.

* :mod:`~pytest_jitera.runbook.context`: the :class:`Rehearsal` every step takes first.
* :mod:`~pytest_jitera.runbook.before_upgrade`: record the release, check the carried values,
  freeze and unfreeze the workloads, back up and verify the databases.
* :mod:`~pytest_jitera.runbook.upgrade`: install, upgrade one hop, watch the hook and rollout.
* :mod:`~pytest_jitera.runbook.after_upgrade`: CLI key, smoke tests, migration tables.
* :mod:`~pytest_jitera.runbook.rollback`: helm alone, restore to a new instance, in place.
* :mod:`~pytest_jitera.runbook.downtime`: the step timer and the downtime table.

Helpers: :mod:`~pytest_jitera.runbook.databases` (logins and in-pod clients),
:mod:`~pytest_jitera.runbook.pem` (PEM checks), :mod:`~pytest_jitera.runbook.images`
(side-loading images into kind). Nothing here imports pytest.
"""
