"""The image builder: Dockerfile frontend, instruction semantics, build cache, and the build service."""
