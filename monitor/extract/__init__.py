"""Stage 2: article pages -> `Article` in the seed format."""
