"""The JAFFE builder; importing this package registers `jaffe` with TFDS."""

from data_builders.jaffe.jaffe import Jaffe, JaffeConfig

__all__ = ["Jaffe", "JaffeConfig"]
