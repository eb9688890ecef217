"""Pure parts of the ITA imitation's search: Ruby-style parsing, date ranges, q analysis, the index."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.ita_leads import SOURCES
from sandbox.ita_search import (
    DateRange,
    SearchError,
    index_for,
    parse_date_range,
    parse_search,
    ruby_to_i,
    unknown_parameters,
)
from sandbox.ita_taxonomy import fold, places_in

TODAY = date(2025, 3, 14)


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("12abc", 12), ("  7", 7), ("-3", -3), ("+4", 4), ("1_000", 1000), ("abc", 0), ("", 0), ("1e3", 1)],
)
def test_ruby_to_i(text: str, number: int) -> None:
    assert ruby_to_i(text) == number


def test_ruby_to_i_caps_huge_numbers_instead_of_failing() -> None:
    assert ruby_to_i("9" * 5000) > 10**17
    assert ruby_to_i("-" + "9" * 5000) < -(10**17)


def test_bare_years_cover_the_whole_year() -> None:
    assert parse_date_range("2013 TO 2014") == DateRange("2013-01-01", "2014-12-31")
    assert parse_date_range("2013-05-06 TO 2013") == DateRange("2013-05-06", "2013-12-31")
    assert "2014-12-31" in parse_date_range("2014 TO 2014")
    assert None not in parse_date_range("2014 TO 2014")


@pytest.mark.parametrize("text", ["2014-01-01", "2014-02-30 TO 2014-03-01", "0000 TO 2014", "2014-01-01  TO 2014"])
def test_malformed_date_ranges_raise_the_upstream_error(text: str) -> None:
    with pytest.raises(SearchError) as raised:
        parse_date_range(text)
    assert raised.value.body == {"error": "Invalid Date Range Format"}


def test_unknown_parameters_keep_first_appearance_order_once() -> None:
    assert unknown_parameters(["q", "zeta", "api_key", "alpha", "zeta"]) == ["zeta", "alpha"]


def test_parse_search_defaults() -> None:
    query = parse_search({})
    assert (query.size, query.offset, query.sources, query.terms) == (10, 0, SOURCES, ())
    assert not query.text_matches_nothing


def test_parse_search_drops_empty_values_and_normalises() -> None:
    query = parse_search({"q": "", "countries": "ca, gb", "sources": "uk,Fbo", "size": "250", "offset": ""})
    assert query.terms == ()
    assert query.countries == frozenset({"CA", "GB"})
    assert query.sources == ("FBO", "UK")
    assert query.size == 100


def test_sources_quirk_unknown_codes_mean_all() -> None:
    assert parse_search({"sources": "nowhere,elsewhere"}).sources == SOURCES


def test_negative_offset_raises_the_upstream_error() -> None:
    with pytest.raises(SearchError) as raised:
        parse_search({"offset": "-1"})
    assert raised.value.body == {"errors": ["Offset must be greater than or equal to 0"]}


def test_q_terms_are_folded_and_places_become_filters() -> None:
    query = parse_search({"q": "Montée  Équipement South Africa western hemisphere"})
    assert query.terms == ("montee", "equipement")
    assert query.q_countries == frozenset({"ZA"})
    assert query.q_world_regions == frozenset({"Western Hemisphere"})


def test_q_of_mere_punctuation_matches_nothing_but_a_place_alone_filters() -> None:
    assert parse_search({"q": "!!!"}).text_matches_nothing
    assert not parse_search({"q": "Kenya"}).text_matches_nothing


def test_fold() -> None:
    assert fold("Montée Côte-d'Ivoire STRAßE Łódź") == "montee cote-d'ivoire strasse lodz"


def test_places_in_prefers_longest_names_and_whole_words() -> None:
    remaining, countries, regions = places_in("south africa nigerian africa")
    assert countries == ["ZA"]
    assert regions == ["Africa"]
    assert remaining.split() == ["nigerian"]


def test_index_search_orders_by_score_then_default_order() -> None:
    index = index_for(7, 1, TODAY, None)
    found = index.search(parse_search({"q": "medical equipment", "size": "100"}))
    assert found.total > 0
    positions = [index.position_of_id[lead.id] for lead in found.leads]
    score_of = index.scores(("medical", "equipment"))
    assert len(score_of) == found.total
    scores = [score_of[position] for position in positions]
    assert scores == sorted(scores, reverse=True)
    for earlier, later, earlier_score, later_score in zip(positions, positions[1:], scores, scores[1:], strict=False):
        if earlier_score == later_score:
            assert earlier < later


def test_index_default_order_is_publish_date_desc_country_asc() -> None:
    index = index_for(7, 1, TODAY, None)
    keys = [(lead.get("publish_date"), lead.get("country")) for lead in index.leads]
    assert keys == sorted(keys, key=lambda key: (-date.fromisoformat(str(key[0])).toordinal(), str(key[1])))


def test_index_lookup_by_id() -> None:
    index = index_for(7, 1, TODAY, None)
    lead = index.leads[123]
    assert index.lead(lead.id) is lead
    assert index.lead("missing") is None
