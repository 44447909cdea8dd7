"""The service layer: what the routes call. Routes never touch the store directly."""
