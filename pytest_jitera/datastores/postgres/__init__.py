"""PostgreSQL (Automation, PGVector): snapshots, restores, schema and content."""
