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

# Class folder names of expression datasets -> CK+ codes, lower case. The
# spellings of FER2013 (angry, disgust, fear, happy, neutral, sad, surprise),
# CK+48 (anger, contempt, disgust, fear, happy, sadness, surprise) and
# AffectNet-, RAF-DB- or KDEF-style exports named in words. Numbered folders
# (AffectNet's 0-7, RAF-DB's 1-7) mean different classes in different
# datasets, so they are never guessed: they need an explicit class map.
EXPRESSION_SPELLINGS: dict[str, int] = {
    "neutral": 0,
    **dict.fromkeys(("anger", "angry"), 1),
    **dict.fromkeys(("contempt", "contemptuous"), 2),
    **dict.fromkeys(("disgust", "disgusted"), 3),
    **dict.fromkeys(("fear", "fearful", "afraid", "scared"), 4),
    **dict.fromkeys(("happy", "happiness", "joy"), 5),
    **dict.fromkeys(("sadness", "sad"), 6),
    **dict.fromkeys(("surprise", "surprised"), 7),
}


def expression_code(name: str) -> int | None:
    """The CK+ code of an expression's name in any common spelling and case, or None.

    Accepts the names of `CK_PLUS_EMOTIONS` and every key of
    `EXPRESSION_SPELLINGS`, ignoring case and surrounding spaces.
    """
    return EXPRESSION_SPELLINGS.get(name.strip().lower())


def spellings_by_label() -> dict[str, tuple[str, ...]]:
    """{CK+ label name: the spellings that map to it}, in code order (for messages)."""
    return {
        label: tuple(s for s, c in EXPRESSION_SPELLINGS.items() if c == code)
        for code, label in enumerate(CK_PLUS_EMOTIONS)
    }


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
