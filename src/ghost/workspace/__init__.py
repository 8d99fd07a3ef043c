"""The scheduled job: a workspace (ghost.toml), its state, its lock and `ghost run`."""
