"""The resident home in Chinese, Vietnamese, Nepali and Easy Japanese (furigana on), on a phone.

Each page is screenshotted (test-artifacts/lang-<code>.png, for people to look at), and
every character on it is checked for a glyph: a character no installed font has is
drawn as the same "tofu" box as a code point nobody has a font for, so each character
is drawn on a canvas in the page's own font and compared with that box.  axe-core
scans each page too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Neighborhood, log_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# A code point no font has (plane-16 private use): what a missing glyph looks like.
NO_FONT = "\U0010fffd"

# Returns the characters of ``text`` whose drawing equals the missing-glyph box.
MISSING_GLYPHS_JS = """([text, noFont]) => {
  const font = "32px " + getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = font;
    ctx.textBaseline = "top";
    ctx.fillText(ch, 4, 4);
    return ctx.getImageData(0, 0, 48, 48).data.join(",");
  };
  const tofu = draw(noFont);
  return [...new Set([...text])].filter((ch) => ch.trim() && draw(ch) === tofu);
}"""

TRANSLATED_TITLES = {"zh-Hans": "秋季防灾演习通知",
                     "vi": "Thông báo diễn tập phòng chống thiên tai",
                     "ne": "शरद ऋतुको विपद् अभ्यासको सूचना"}


def missing_glyphs(page, text: str) -> list[str]:
    return page.evaluate(MISSING_GLYPHS_JS, [text, NO_FONT])


@pytest.mark.parametrize("code", ["zh-Hans", "vi", "ne", "ja-easy"])
def test_resident_home_renders_in_the_language(code, new_phone, neighborhood: Neighborhood,
                                                factory):
    member = factory.member(neighborhood.association,
                            user=factory.user(name="Lan", locale=code))
    if code in TRANSLATED_TITLES:
        factory.translation(neighborhood.circular, code, TRANSLATED_TITLES[code], "…")
    page = new_phone()
    log_in(page, member.user.login_id)
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == {"ja-easy": "ja"}.get(code, code)
    if code == "ja-easy":  # furigana is on by default for Easy Japanese readers
        assert page.locator(".circular-title ruby rt").count() > 0
    else:
        assert page.get_by_text(TRANSLATED_TITLES[code]).is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lang-{code}.png"), full_page=True)
    text = page.evaluate("document.body.innerText")
    assert missing_glyphs(page, text) == [], f"{code}: characters drawn as boxes"

    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on the {code} home page:\n{describe(blocking)}"


def test_the_glyph_check_sees_a_missing_font(new_phone):
    """Control: Nag Mundari (Unicode 15; no installed font has it) is reported, Latin and kana
    are not."""
    page = new_phone()
    page.goto("/login")
    assert missing_glyphs(page, "A\U0001e4d0あ") == ["\U0001e4d0"]
