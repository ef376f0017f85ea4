"""Server programs the scenarios start as child processes."""
