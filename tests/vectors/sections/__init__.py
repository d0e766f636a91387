"""Section builders of tests/vectors/interop.json (see make_interop.py)."""
