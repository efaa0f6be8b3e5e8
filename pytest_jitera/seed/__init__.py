"""Rehearsing on the operator's own data: their dumps as the starting state, or generated rows.

A rehearsal on a handful of seeded rows proves the steps work; one on a copy of production
data also says how long each step takes at that size. This package reads and checks the
operator's dumps before any cluster work (``dumps``, ``recorded_versions``) and writes the
reference stack's rows at a chosen size (``reference_data``). It imports no pytest and no
cluster client; restoring a seed into the rehearsal's stores is a runbook step
(:func:`pytest_jitera.runbook.starting_state.seed_from_dumps`).
"""
