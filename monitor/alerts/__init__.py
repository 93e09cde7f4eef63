"""Stage 4: stories, dedup, corroboration, the outbox and delivery."""
