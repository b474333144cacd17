"""The expression classes shared by CK+, JAFFE and the models (CK+ codes)."""

# CK+ emotion codes in code order (code = index). JAFFE's labels map onto the
# same codes; it has no contempt.
CK_PLUS_EMOTIONS = (
    "neutral",
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happy",
    "sadness",
    "surprise",
)
