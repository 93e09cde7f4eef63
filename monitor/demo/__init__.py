"""`monitor demo`: a bundled corpus on 127.0.0.1 through the real pipeline, fully offline."""
