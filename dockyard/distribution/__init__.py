"""Registry client: resolve references, authenticate, pull and push images (Registry HTTP API V2 / OCI)."""
