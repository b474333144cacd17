"""The class-folder builder; importing this package registers `face_folders` with TFDS."""

from data_builders.face_folders.face_folders import FaceFolders
from data_builders.face_folders.options import FaceFoldersConfig

__all__ = ["FaceFolders", "FaceFoldersConfig"]
