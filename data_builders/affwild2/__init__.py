"""The Aff-Wild2 builder; importing this package registers `affwild2` with TFDS."""

from data_builders.affwild2.affwild2 import Affwild2, Affwild2Config

__all__ = ["Affwild2", "Affwild2Config"]
