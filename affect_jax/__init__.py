"""affect-jax: facial emotion recognition from video in JAX/Flax."""
