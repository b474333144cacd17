"""The GPU check's three bars (issue 20) and their verdicts: met, missed or not measured.

Apart from gpu_check.py, so that the verdicts can be tested without its flags.
"""

BAR_BATCH = 1024  # The CNN bar's batch; its bfloat16 rate is the loader's demand.
BAR_FRAMES_PER_S, CCC_TOLERANCE = 50_000, 0.01


def bars(found: dict, size: dict) -> list[tuple[str, str, str]]:
    """(bar, measured, verdict) of issue 20's three bars."""

    def verdict(measured, met: bool) -> str:
        return "not measured" if not measured else ("met" if met else "missed")

    rate = found["cnn"].get((BAR_BATCH, "bfloat16"))
    cnn = f"{rate:,.0f} frames/s" if rate else "-"
    best, demand, workers = found.get("loader", (None, None, 0))
    loaded = best is not None and demand is not None
    loader = f"{best:,.0f} vs {demand:,.0f} frames/s" if loaded else "-"
    gaps = found["ccc_gap"]
    ccc = f"max difference {max(gaps):.3f}" if gaps else "-"
    ccc_verdict = verdict(len(gaps) == 2, bool(gaps) and max(gaps) <= CCC_TOLERANCE)
    if size["preset"] != "quickstart" or size["train_steps"]:
        ccc_verdict = "not compared (not the quickstart preset and schedule)"
    return [
        (
            f"CNN bfloat16 train step >= {BAR_FRAMES_PER_S:,} frames/s at batch {BAR_BATCH}",
            cnn,
            verdict(rate, bool(rate) and rate >= BAR_FRAMES_PER_S),
        ),
        (
            f"Grain loader, {workers} workers >= the step's demand",
            loader,
            verdict(loaded, loaded and best >= demand),
        ),
        (f"quickstart CCCs within {CCC_TOLERANCE} of the CPU's", ccc, ccc_verdict),
    ]
