"""The only package that talks to Redis: keys, domain verbs, the embedded server."""
