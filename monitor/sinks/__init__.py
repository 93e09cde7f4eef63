"""Stage 5: where alerts go (Slack, email, JSONL/console)."""
