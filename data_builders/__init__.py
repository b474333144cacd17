"""TFDS builders for the raw dataset layouts (read from a manual dir)."""
