"""Faces: detection and crops (detect.py), tracking (track.py), reading videos (video_io.py).

Used by prediction and by the CK+ and JAFFE builders. Imports nothing of the
package but config and runtime.
"""
