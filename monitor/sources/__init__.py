"""Stage 1: getting bytes from the outside world (HTTP) and entries out of feeds."""
