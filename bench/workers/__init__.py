"""Programs the scenarios run to completion in a child process; each prints one JSON line."""
