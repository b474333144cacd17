"""Neural network models."""
