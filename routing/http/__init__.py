"""The HTTP layer: blueprints, the API object, error responses. Routes stay thin."""
