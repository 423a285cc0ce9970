"""The clean-up rules for messy open data: flags, capacities, towns, keys."""

from __future__ import annotations

import pytest

from chounaikai.shelters import records
from chounaikai.shelters.records import RowProblem


@pytest.fixture(autouse=True)
def _context(app):
    # Messages are translated (Flask-Babel needs an app context).
    with app.app_context():
        yield


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("1.0", True), ("１", True), ("○", True), (1, True), (1.0, True),
    ("", False), (None, False), ("0", False), ("0.0", False), (" ", False),
])
def test_flags_read_as_published(raw, expected):
    assert records.flag(raw, label="洪水") is expected


@pytest.mark.parametrize("raw", ["2", "yes", "1.5", "×", [1]])
def test_unreadable_flag_is_a_problem_naming_the_column(raw):
    with pytest.raises(RowProblem, match="「洪水」の値"):
        records.flag(raw, label="洪水")


@pytest.mark.parametrize(("text", "people"), [
    ("屋内480人／屋外3,350人(面積の1/2)", 480),
    ("屋内191人／屋外0人(面積の1/2)", 191),
    ("屋内1,371人／屋外5,470人（面積の1/2）", 1371),
    ("屋内2,736人屋外11,700人（面積の1/2）", 2736),  # no separator in the real file
    ("屋内０人／屋外９，７００人", 0),  # full-width digits and comma
    ("屋内１，２３４人", 1234),
    ("480", 480), ("480人", 480),
    ("未定", None), ("屋外300人", None),
])
def test_capacity_is_the_indoor_people(text, people):
    assert records.capacity(text) == people


@pytest.mark.parametrize(("address", "prefix", "town"), [
    ("東京都町田市つくし野2-21-11", "東京都町田市", "つくし野"),
    ("東京都町田市下小山田町3267", "東京都町田市", "下小山田町"),
    ("東京都町田市本町田1212", "東京都町田市", "本町田"),
    ("東京都町田市原町田４－２６－４０", "東京都町田市", "原町田"),  # full-width
    ("東京都町田市森野二丁目21番28号", "東京都町田市", "森野"),
    ("町田市鶴川6-4", "", "鶴川"),  # no prefecture, no prefix given
    ("石川県七尾市一本杉町１２４", "", "一本杉町"),
    ("東京都町田市", "東京都町田市", None),
])
def test_town_part_of_an_address(address, prefix, town):
    assert records.town(address, prefix) == town


def test_district_label_drops_the_trailing_note():
    assert records.district_label("御祓地区（25町会）") == "御祓地区"
    assert records.district_label("袖ケ江") == "袖ケ江"
    assert records.district_label("") is None


@pytest.mark.parametrize(("code5", "code6"), [("13209", "132098"), ("17202", "172022"),
                                              ("13101", "131016"), ("01100", "011002")])
def test_municipality_check_digit(code5, code6):
    assert code5 + records.municipality_check_digit(code5) == code6


@pytest.mark.parametrize(("lat", "lon"), [("abc", "139.4"), ("139.48", "35.52"),
                                          ("0", "0"), ("nan", "139.4"), ("35.5", "")])
def test_bad_or_half_coordinates_are_problems(lat, lon):
    with pytest.raises(RowProblem):
        records.location(lat, lon)


def test_coordinates_may_be_absent_together():
    assert records.location("", "") == (None, None)
    assert records.location("３５．５", "139.4") == (35.5, 139.4)


def test_source_key_fits_the_column_and_stays_stable():
    short = records.source_key("gsi", "132098", "つくし野小学校", "東京都町田市つくし野2-21-11")
    assert short == "gsi:132098:つくし野小学校:東京都町田市つくし野2-21-11"
    long_name = "避難所" * 60
    key = records.source_key("gsi", "132098", long_name, "住所")
    assert len(key) <= records.MAX_KEY
    assert key == records.source_key("gsi", "132098", long_name, "住所")
    assert key != records.source_key("gsi", "132098", long_name, "別の住所")


def test_text_refuses_characters_postgresql_cannot_store():
    with pytest.raises(RowProblem):
        records.text("学校\x00", label="名称", max_length=200)
    with pytest.raises(RowProblem, match="長すぎます"):
        records.text("あ" * 201, label="名称", max_length=200)


def test_key_parts_ignore_width_spaces_and_dash_variants():
    assert records.key_part("東京都町田市 つくし野２－２１－１１") == "東京都町田市つくし野2-21-11"
    assert records.key_part("小島町チ３ー４１") == "小島町チ3-41"
    assert records.key_part("コミュニティセンター") == "コミュニティセンター"  # ー kept in words
