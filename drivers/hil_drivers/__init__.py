"""pytest-hil's built-in drivers; each family registers through the `pytest_hil.drivers` entry points."""
