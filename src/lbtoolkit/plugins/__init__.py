"""Plugins shipped with lbtoolkit, one package each, found by name through entry points."""
