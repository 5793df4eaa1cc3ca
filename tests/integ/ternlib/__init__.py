"""Helpers for Tern's integration tests (run with Debian's /usr/bin/python3)."""
