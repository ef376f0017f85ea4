"""The demo service of lbtoolkit: a greeter over gRPC and HTTP, counting visits in Redis."""
