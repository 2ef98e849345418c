"""The API's routes, one module per concern; ``lambdas.api.app`` mounts them."""
