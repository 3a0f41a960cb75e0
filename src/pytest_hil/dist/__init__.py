"""`--hil-dist`: pytest-xdist runs the suite with one worker per leased board, tests routed by need."""
