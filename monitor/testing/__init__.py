"""Test doubles shipped as features: a local Slack Web API for tests, benchmarks and demos."""
