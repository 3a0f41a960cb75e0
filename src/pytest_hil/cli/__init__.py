"""The `hil` command: by hand what tests do."""
