"""Figures published in the seed paper, for comparison (percentages)."""

PAPER_CLEAN_ACCURACY = 98.42
PAPER_EGAN_CLEAN_ACCURACY = 95.99
# Table 2, accuracy after denoising: {length: {angle: accuracy %}}.
PAPER_TABLE_2 = {
    0.01: {0.0: 95.29, 15.0: 95.35, 30.0: 95.41, 45.0: 95.46},
    0.02: {0.0: 94.84, 15.0: 94.91, 30.0: 95.04, 45.0: 95.18},
    0.03: {0.0: 93.89, 15.0: 94.05, 30.0: 94.35, 45.0: 94.74},
    0.04: {0.0: 91.89, 15.0: 92.25, 30.0: 93.12, 45.0: 94.13},
    0.05: {0.0: 89.17, 15.0: 89.83, 30.0: 91.14, 45.0: 93.05},
}


def format_paper_comparison(result) -> str:
    """Our Table 2 beside the paper's, for the grid points both have.

    Args:
        result: An `egan_tf.grid.GridResult`.
    """
    lines = [
        "Table 2 (C(G(E(blur(x)))), %): ours / paper",
        f"{'l':>6} | " + " | ".join(f"theta={a:g}°".rjust(15) for a in result.angles),
    ]
    lines.append(
        f"{0:>6g} | "
        + " | ".join(
            f"{result.egan_accuracy * 100:6.2f} / {PAPER_EGAN_CLEAN_ACCURACY:6.2f}"
            for _ in result.angles
        )
    )
    for length in result.lengths:
        cells = []
        for angle in result.angles:
            ours = result.point(length, angle).accuracy_defended * 100
            paper = PAPER_TABLE_2.get(length, {}).get(angle)
            cells.append(f"{ours:6.2f} / " + (f"{paper:6.2f}" if paper else "   n/a"))
        lines.append(f"{length:>6g} | " + " | ".join(cells))
    return "\n".join(lines)
