"""Furigana cost: µs per character for a typical circular, cold and cached.

    .venv/bin/python bench/furigana.py            # 200 rounds per figure
    .venv/bin/python bench/furigana.py --rounds 1000

"Cold" is the first reader of a new circular version: the HTML is parsed, every
text node goes through SudachiPy and the override list, and ruby is written
(both LRU caches emptied before each round).  "Cached" is every later reader of
the same version (one LRU lookup keyed by the HTML).  Beside them, in the same
run, the baseline is what a page does with the body anyway without furigana:
``markupsafe.Markup`` around the stored HTML, and ``html.escape`` of the title.
The dictionary load (once per worker thread) is printed on its own.

Prints median and p90 per round and per character (characters = length of the
body's text without tags, what a reader sees).
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markupsafe import Markup  # noqa: E402

from chounaikai import furigana  # noqa: E402
from chounaikai.circulars.rendering import render_markdown  # noqa: E402

# A typical circular: about 450 characters of mixed kanji and kana, a list, a link.
CIRCULAR = """\
町内会の皆様へ

11月30日（日）午前9時から、町田第一小学校の校庭で防災訓練を行います。
地震が起きたときの避難所までの道順を、班ごとに確認します。高齢者等避難の
呼びかけがあった場合の動き方や、安否確認のやり方も練習します。

- 持ち物: 飲み物、タオル、軍手、常備薬
- 雨天の場合は体育館で行います
- 小さなお子様連れの方も参加できます

当日は消防署の方が消火器の使い方を説明してくださいます。参加できる方は、
このお知らせの下にある「確認しました」を押してください。分からないことが
ありましたら、班長または町内会の役員までお気軽にお問い合わせください。
詳しくは[市のホームページ](https://www.city.machida.tokyo.jp/)をご覧ください。

緊急安全確保が発令された場合は、無理に避難所へ向かわず、近くの安全な場所へ
移動してください。
"""


def timed(function, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def row(name: str, samples: list[float], chars: int) -> str:
    median = statistics.median(samples) * 1e6
    p90 = statistics.quantiles(samples, n=10)[-1] * 1e6
    return (f"{name:<34} {median:>10.1f} µs {p90:>10.1f} µs "
            f"{median / chars:>9.3f} µs/char")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    body = render_markdown(CIRCULAR)
    chars = len(html.unescape(re.sub(r"<[^>]+>", "", body)))

    start = time.perf_counter()
    furigana.annotate_text("辞書")  # loads the Sudachi dictionary
    load = time.perf_counter() - start

    def cold():
        furigana.annotate_html.cache_clear()
        furigana.annotate_text.cache_clear()
        furigana.annotate_html(body)

    def cached():
        furigana.annotate_html(body)

    def baseline():
        Markup(body)  # noqa: S704 - sanitized by render_markdown
        html.escape("防災訓練のお知らせ")

    marked = str(furigana.annotate_html(body))
    print(f"circular: {chars} characters of text, {len(body)} bytes of HTML; "
          f"{marked.count('<ruby>')} ruby elements, {len(marked)} bytes with ruby")
    print(f"dictionary load (once per worker thread): {load * 1000:.0f} ms")
    print(f"{'':<34} {'median':>13} {'p90':>13} {'median/char':>15}")
    samples = {"baseline (no furigana)": timed(baseline, args.rounds),
               "furigana, cold (new version)": timed(cold, args.rounds),
               "furigana, cached (same version)": timed(cached, args.rounds)}
    for name, values in samples.items():
        print(row(name, values, chars))
    cold_median = statistics.median(samples["furigana, cold (new version)"])
    cached_median = statistics.median(samples["furigana, cached (same version)"])
    print(f"cold / cached: {cold_median / cached_median:,.0f}×")


if __name__ == "__main__":
    main()
