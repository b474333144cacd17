"""The CK+ builder; importing this package registers `ck_plus` with TFDS."""

from data_builders.ck_plus.ck_plus import CkPlus, CkPlusConfig

__all__ = ["CkPlus", "CkPlusConfig"]
