"""Label names: CK+/JAFFE expression codes, Aff-Wild2's dimensions, classes and AU slots."""

# Aff-Wild2's regressed dimensions, in head-output order.
VALENCE_AROUSAL = ("valence", "arousal")

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

# Aff-Wild2's EXPR classes in label order (the later releases' 8; the 2020
# release uses the first 7) and the builder's AU slots (the union of the 2020
# and later sets). Equal to data_builders/affwild2/tasks.py (tested); kept here
# so that configs and models need not import the TFDS builder.
AFFWILD2_EXPRESSIONS = (
    "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other",
)  # fmt: skip
AFFWILD2_ACTION_UNITS = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU20", "AU23", "AU24", "AU25",
    "AU26",
)  # fmt: skip
