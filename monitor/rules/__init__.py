"""Stage 3: the rule language and its compiled matcher (pure: no I/O, no Redis)."""
