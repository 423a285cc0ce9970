"""Importing the real GSI and Digital Agency files: merged sites, flags, capacity,
idempotent re-imports, and bad files that import nothing."""

from __future__ import annotations

import json

import pytest

from chounaikai.extensions import db
from chounaikai.models import Congestion, Shelter
from chounaikai.shelters import importers
from chounaikai.shelters.importers import ImportRejected, Upload
from tests.shelters.conftest import MACHIDA, NANAO, NANAO_OPEN
from tests.support import count

TSUKUSHINO = "gsi:132098:つくし野小学校:東京都町田市つくし野2-21-11"
MISOGI = "da:CC0000000504"


def _features(path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _site(feature: dict) -> tuple[str, str]:
    return feature["properties"]["施設・場所名"], feature["properties"]["住所"]


def test_machida_gsi_files_merge_into_one_shelter_per_site(run_import, shelters_by_key):
    evacuation, emergency = (_features(path) for path in MACHIDA)
    assert (len(evacuation), len(emergency)) == (122, 114)
    both = {_site(f) for f in evacuation} & {_site(f) for f in emergency}

    result = run_import(*MACHIDA)

    shelters = shelters_by_key()
    sites = {_site(f) for f in evacuation} | {_site(f) for f in emergency}
    assert len(shelters) == len(sites) == 122 + 114 - len(both) == 168
    assert (result.created, result.updated, result.unchanged) == (168, 0, 0)
    kinds = [(s.is_evacuation_shelter, s.is_emergency_site) for s in shelters.values()]
    assert kinds.count((True, True)) == len(both) == 68
    assert kinds.count((True, False)) == 122 - 68
    assert kinds.count((False, True)) == 114 - 68

    school = shelters[TSUKUSHINO]
    assert school.name == "つくし野小学校"
    assert school.is_evacuation_shelter
    assert school.is_emergency_site
    # 洪水 崖崩れ 地震 大規模な火事 内水氾濫 火山現象 are "1"; 高潮 and 津波 are blank.
    assert school.hazards == ["flood", "landslide", "earthquake", "fire", "inland_flooding",
                              "volcano"]
    assert (school.latitude, school.longitude) == (35.525749, 139.48186)
    assert school.municipality_code == "132098"
    assert school.district == "つくし野"
    assert school.capacity is None  # GSI publishes no capacity


def test_gsi_welfare_shelters_come_from_the_target_column_or_the_name(run_import,
                                                                     shelters_by_key):
    evacuation = _features(MACHIDA[0])
    expected = {_site(f) for f in evacuation
                if f["properties"]["受入対象者"] or "福祉" in f["properties"]["施設・場所名"]}
    run_import(*MACHIDA)
    welfare = {(s.name, s.address) for s in shelters_by_key().values() if s.welfare}
    assert welfare == expected
    assert len(expected) >= 52


def test_nanao_digital_agency_csv(run_import, shelters_by_key):
    result = run_import(NANAO)

    shelters = shelters_by_key()
    assert result.created == len(shelters) == 112
    centre = shelters[MISOGI]
    assert centre.name == "御祓地区コミュニティセンター"
    assert centre.name_kana == "ミソギチクコミュニティセンター"
    assert centre.capacity == 191
    assert centre.capacity_text == "屋内191人／屋外0人(面積の1/2)"
    assert centre.hazards == ["flood", "landslide", "storm_surge", "earthquake", "tsunami",
                              "inland_flooding"]  # 大規模な火事 and 火山現象 are blank
    assert centre.is_evacuation_shelter
    assert centre.is_emergency_site
    assert (centre.latitude, centre.longitude) == (37.04826, 136.96136)
    assert centre.municipality_code == "172022"
    assert centre.district == "一本杉町"
    assert shelters["da:CC0000000505"].capacity == 1371  # 「屋内1,371人／…」
    assert shelters["da:CC0000000506"].capacity == 2736  # 「屋内2,736人屋外11,700人…」
    new = shelters["da:NEW001"]  # a site added later: no flags, no capacity
    assert (new.is_emergency_site, new.hazards, new.capacity) == (False, [], None)
    assert {s.name for s in shelters.values() if s.welfare} == {
        "七尾産業福祉センター（４F）", "健康福祉プラザさつき苑", "中島健康福祉センターすこやか"}


def test_district_from_a_column(run_import, shelters_by_key):
    run_import(NANAO, district_from="対象となる町会・自治会")
    assert shelters_by_key()[MISOGI].district == "御祓地区"


def test_a_missing_district_column_is_refused(run_import, app):
    with pytest.raises(ImportRejected, match="列がありません: 地区"):
        run_import(NANAO, district_from="地区")
    assert count(app, Shelter) == 0


def test_importing_twice_changes_nothing(run_import, shelters_by_key):
    run_import(*MACHIDA, NANAO)
    before = {key: s.id for key, s in shelters_by_key().items()}

    again = run_import(*MACHIDA, NANAO)

    after = {key: s.id for key, s in shelters_by_key().items()}
    assert after == before
    assert len(after) == 168 + 112
    assert (again.created, again.updated, again.unchanged) == (0, 0, 280)


def test_files_imported_one_at_a_time_still_merge(run_import, shelters_by_key):
    run_import(MACHIDA[0])
    run_import(MACHIDA[1])
    shelters = shelters_by_key()
    assert len(shelters) == 168
    school = shelters[TSUKUSHINO]
    assert school.is_evacuation_shelter
    assert school.is_emergency_site
    assert "earthquake" in school.hazards


def test_reimport_keeps_live_status_contacts_and_welfare(app, run_import, shelters_by_key,
                                                         factory):
    run_import(NANAO)
    leader = factory.user()
    with app.app_context():
        centre = db.session.scalar(db.select(Shelter).where(Shelter.source_key == MISOGI))
        centre.is_open, centre.congestion, centre.evacuees = True, Congestion.CROWDED, 130
        centre.welfare = True  # staff decided
        centre.capacity_text = "古い値"
        centre.contacts.append(db.session.get(type(leader), leader.id))
        db.session.commit()

    result = run_import(NANAO)

    centre = shelters_by_key()[MISOGI]
    assert (centre.is_open, centre.congestion, centre.evacuees) == (True, Congestion.CROWDED,
                                                                    130)
    assert centre.welfare is True
    assert centre.capacity_text == "屋内191人／屋外0人(面積の1/2)"  # data fields are updated
    assert (result.created, result.updated) == (0, 1)
    with app.app_context():
        assert [u.id for u in db.session.get(Shelter, centre.id).contacts] == [leader.id]


def test_open_shelters_list_updates_the_same_sites(run_import, shelters_by_key):
    run_import(NANAO)
    result = run_import(NANAO_OPEN)  # extra 地区 and head-count columns are ignored
    assert result.created == 0
    assert result.total == 29
    shelters = shelters_by_key()
    assert len(shelters) == 112
    assert shelters[MISOGI].municipality_code == "172022"  # the column it lacks is kept


def test_shift_jis_csv_is_read(run_import, shelters_by_key):
    text = NANAO.read_text(encoding="utf-8")
    run_import(Upload("nanao-sjis.csv", text.encode("cp932", errors="replace")))
    assert shelters_by_key()[MISOGI].capacity == 191


# -- bad files ---------------------------------------------------------------------------

def _csv_with(line_no: int, old: str, new: str) -> Upload:
    """The Nanao CSV with one change on a physical line (1 = the header)."""
    lines = NANAO.read_text(encoding="utf-8").split("\n")
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    return Upload("nanao-broken.csv", "\n".join(lines).encode())


def _geojson_with(index: int, change) -> Upload:
    data = json.loads(MACHIDA[1].read_text(encoding="utf-8"))
    change(data["features"][index])
    return Upload("machida-broken.geojson", json.dumps(data, ensure_ascii=False).encode())


def _rejected(run_import, *uploads) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        run_import(*uploads)
    return caught.value


def test_a_bad_flag_rejects_the_file_naming_the_line(app, run_import):
    error = _rejected(run_import, _csv_with(3, ",1.0,1.0,1.0,1.0,1.0,1.0,1.0,,",
                                            ",1.0,maybe,1.0,1.0,1.0,1.0,1.0,,"))
    assert [(p.file, p.where) for p in error.problems] == [("nanao-broken.csv", "3行目")]
    assert "「災害種別_崖崩れ、土石流及び地滑り」の値「maybe」" in error.problems[0].reason
    assert "3行目" in error.describe()
    assert error.fields == {"nanao-broken.csv 3行目": error.problems[0].reason}
    assert count(app, Shelter) == 0


def test_line_numbers_count_a_quoted_multi_line_cell(run_import):
    # Row CC0000000563 spans lines 61-62 (its kana has a line break): the next row, the
    # 62nd record, starts on line 63.
    lines = NANAO.read_text(encoding="utf-8").split("\n")
    assert lines[62].startswith("CC0000000564")
    error = _rejected(run_import, _csv_with(63, "37.", "137."))
    assert [p.where for p in error.problems] == ["63行目"]
    assert "緯度" in error.problems[0].reason


def test_bad_coordinates_in_geojson_name_the_feature(app, run_import):
    def swap(feature):
        feature["geometry"]["coordinates"] = ["abc", 35.5]

    error = _rejected(run_import, MACHIDA[0], _geojson_with(4, swap))
    assert [p.where for p in error.problems] == ["5番目の地物（features[4]）"]
    assert "経度" in error.problems[0].reason
    assert count(app, Shelter) == 0  # the good file in the same import is not imported


def test_every_bad_line_is_listed(run_import):
    def no_name(feature):
        feature["properties"]["施設・場所名"] = ""

    def bad_flag(feature):
        feature["properties"]["地震"] = "はい"

    data = json.loads(MACHIDA[1].read_text(encoding="utf-8"))
    no_name(data["features"][0])
    bad_flag(data["features"][10])
    upload = Upload("x.geojson", json.dumps(data, ensure_ascii=False).encode())
    error = _rejected(run_import, upload)
    assert [p.where for p in error.problems] == ["1番目の地物（features[0]）",
                                                 "11番目の地物（features[10]）"]


def test_invalid_json_names_the_line(app, run_import):
    text = MACHIDA[0].read_text(encoding="utf-8")
    broken = text.replace('"NO": 27126,', '"NO": 27126', 1)  # a missing comma
    line = text[:text.index('"NO": 27126')].count("\n") + 2
    error = _rejected(run_import, Upload("bad.geojson", broken.encode()))
    assert error.problems[0].where == f"{line}行目"
    assert "JSON" in error.problems[0].reason
    assert count(app, Shelter) == 0


def test_wrong_columns_are_refused(app, run_import):
    csv_text = "番号,名前,住所\n1,小学校,町田市\n"
    error = _rejected(run_import, Upload("other.csv", csv_text.encode()))
    assert error.problems[0].where == "1行目"
    assert "列がありません" in error.problems[0].reason
    not_shelters = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"name": "x"}}]})
    error = _rejected(run_import, Upload("other.geojson", not_shelters.encode()))
    assert "列が違います" in error.problems[0].reason
    assert count(app, Shelter) == 0


def test_a_repeated_id_is_refused(run_import):
    lines = NANAO.read_text(encoding="utf-8").split("\n")
    text = "\n".join([*lines[:3], lines[2], *lines[3:]])
    error = _rejected(run_import, Upload("dup.csv", text.encode()))
    assert [p.where for p in error.problems] == ["4行目"]
    assert "3行目と同じ" in error.problems[0].reason


def test_a_bad_file_leaves_earlier_imports_untouched(run_import, shelters_by_key):
    run_import(NANAO)
    before = shelters_by_key()[MISOGI]
    _rejected(run_import, _csv_with(2, "御祓地区コミュニティセンター", "名前を変えた"),
              _csv_with(3, "1.0", "x"))
    assert shelters_by_key()[MISOGI].name == before.name


def test_no_files_or_undecodable_bytes(app):
    with app.app_context():
        with pytest.raises(importers.ValidationFailed):
            importers.import_uploads([])
        with pytest.raises(ImportRejected, match="文字コード"):
            importers.import_uploads([Upload("x.csv", b"\xff\xfe\xff\x81\x00")])


# -- the CLI ---------------------------------------------------------------------------

def test_cli_imports_and_reports_counts(app, shelters_by_key):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["shelters", "import", *map(str, MACHIDA)])
    assert result.exit_code == 0, result.output
    assert "created 168, updated 0, unchanged 0" in result.output
    assert len(shelters_by_key()) == 168
    again = runner.invoke(args=["shelters", "import", *map(str, MACHIDA)])
    assert "created 0, updated 0, unchanged 168" in again.output


def test_cli_rejects_a_bad_file_and_imports_nothing(app, tmp_path, shelters_by_key):
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv_with(5, "1.0", "?").content.decode(), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["shelters", "import", str(NANAO), str(bad)])
    assert result.exit_code == 1
    assert "bad.csv の5行目" in result.output
    assert shelters_by_key() == {}


def test_cli_district_from(app, shelters_by_key):
    result = app.test_cli_runner().invoke(
        args=["shelters", "import", str(NANAO), "--district-from", "対象となる町会・自治会"])
    assert result.exit_code == 0, result.output
    assert shelters_by_key()[MISOGI].district == "御祓地区"


def test_sites_merge_across_spelling_differences(run_import, shelters_by_key):
    def collection(properties: dict) -> Upload:
        feature = {"type": "Feature", "properties": {
            "施設・場所名": "つくし野小学校", "都道府県名及び市町村名": "東京都町田市",
            **properties},
            "geometry": {"type": "Point", "coordinates": [139.48186, 35.525749]}}
        data = {"type": "FeatureCollection", "name": "132098", "features": [feature]}
        return Upload("x.geojson", json.dumps(data, ensure_ascii=False).encode())

    hazards = dict.fromkeys(("洪水", "崖崩れ、土石流及び地滑り", "高潮", "津波", "大規模な火事",
                             "内水氾濫", "火山現象"), "")
    run_import(collection({"住所": "東京都町田市つくし野２－２１－１１", "受入対象者": None}),
               collection({"住所": "東京都町田市 つくし野2-21-11", "地震": "1", **hazards}))
    (school,) = shelters_by_key().values()
    assert school.source_key == TSUKUSHINO
    assert school.is_evacuation_shelter
    assert school.is_emergency_site
    assert school.hazards == ["earthquake"]
