"""Release planning: version arithmetic, the catalog of released charts, the upgrade path."""
