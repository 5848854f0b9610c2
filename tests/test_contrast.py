"""WCAG AA colour contrast of newsdesk's own styles where no browser test sees them: the
print edition (print.css) and the muted colours newsdesk.css sets for both schemes."""

from __future__ import annotations

import re
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "plugins" / "newsdesk" / "assets"
AA = 4.5


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula() -> None:
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#777", "#fff"), 2) == 4.48


def test_print_text_colours_pass_aa_on_every_print_background() -> None:
    css = (ASSETS / "print.css").read_text(encoding="utf-8")
    colours = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", css))
    backgrounds = set(re.findall(r"background(?:-color)?:\s*(#[0-9a-fA-F]{3,6})", css))
    assert colours and backgrounds
    for fg in colours:
        for bg in {*backgrounds, "#ffffff"}:
            assert contrast(fg, bg) >= AA, f"print.css: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


def test_site_muted_text_and_buttons_pass_aa_in_both_schemes() -> None:
    css = (ASSETS / "newsdesk.css").read_text(encoding="utf-8")
    light = re.search(r":root \{ --nd-muted: (#\w+);", css).group(1)
    dark = re.search(
        r'\[data-md-color-scheme="slate"\] \{ --nd-muted: (#\w+); '
        r"--nd-button-fg: (#\w+); \}",
        css,
    )
    # Material's page and code-block (.nd-latest) backgrounds in each scheme.
    for bg in ("#ffffff", "#f5f5f5"):
        assert contrast(light, bg) >= AA
    for bg in ("#1e2129", "#272a35"):
        assert contrast(dark.group(1), bg) >= AA
        assert contrast(dark.group(2), bg) >= AA


def test_email_text_colours_pass_aa() -> None:
    css = (ASSETS / "email.css").read_text(encoding="utf-8")
    light_text = ["#1f2328", "#57606a", "#3949ab"]
    for fg in light_text:
        for bg in ("#ffffff", "#f2f3f5", "#f6f7fb", "#eef0f7"):
            assert fg in css
            assert contrast(fg, bg) >= AA, f"email.css: {fg} on {bg}"
    for fg in ("#e6e8eb", "#f0f2f5", "#a8b0ba", "#9fa8ff"):
        for bg in ("#111318", "#1c1f26", "#262a33"):
            assert fg in css
            assert contrast(fg, bg) >= AA, f"email.css (dark): {fg} on {bg}"
    assert contrast("#ffffff", "#3f51b5") >= AA  # the masthead and the button
