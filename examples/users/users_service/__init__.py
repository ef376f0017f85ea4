"""The users example: accounts over gRPC and HTTP, in PostgreSQL, cached in Redis, announced."""
