"""The CanadaBuys files the mirror keeps, under `opendata/pub/` on the site (`https://canadabuys.canada.ca/`).

Publication times (UTC-05:00): new notices every 2 h from 06:15 to 22:15, open notices daily 07:00-08:30, award
notices daily, contract history monthly (checked weekly). Award notices come in one file per fiscal year (April to
March); the current and the previous year's are kept.
"""

from __future__ import annotations

from datetime import date

from gateway.upstreams.mirror.feed import FeedSpec
from gateway.upstreams.spec import RecordKind

SITE_URL = "https://canadabuys.canada.ca/"  # what GATEWAY_CANADABUYS_URL names
FILES_PATH = "opendata/pub/"  # where the files are, relative to the site
# The one data page whose session cookies let a cold client through (cookie priming); on the site's host.
DATA_PAGE_PATH = "/en/procurement-and-contracting-data"
TENDER = RecordKind.TENDER.value
CONTRACT = RecordKind.CONTRACT.value
LEAD = RecordKind.LEAD.value  # open tender notices as ITA CANADA leads: indexed a second time, newest first

NEW_TENDERS_FILE = "newTenderNotice-nouvelAvisAppelOffres.csv"
OPEN_TENDERS_FILE = "openTenderNotice-ouvertAvisAppelOffres.csv"
AWARDS_FILE = "{fiscal_year}-awardNotice-avisAttribution.csv"
CONTRACT_HISTORY_FILE = "contractHistoryComplete-contratsOctroyesComplet.csv"

HOUR_S = 3600
DAY_S = 24 * HOUR_S


def fiscal_year(day: date) -> str:
    """The federal fiscal year holding `day`, as CanadaBuys names it: `2026-2027` from 1 April 2026."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{start + 1}"


def new_tender_files(day: date) -> tuple[str, ...]:
    del day
    return (NEW_TENDERS_FILE,)


def open_tender_files(day: date) -> tuple[str, ...]:
    del day
    return (OPEN_TENDERS_FILE,)


def award_files(day: date) -> tuple[str, ...]:
    previous = fiscal_year(date(day.year - 1, day.month, min(day.day, 28)))
    return (AWARDS_FILE.format(fiscal_year=previous), AWARDS_FILE.format(fiscal_year=fiscal_year(day)))


def contract_history_files(day: date) -> tuple[str, ...]:
    del day
    return (CONTRACT_HISTORY_FILE,)


# Priority order: of two rows of one notice at the same amendment, the later feed's wins (the open file is the
# authority on open notices; the new file only adds them early).
FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec(
        "new_tenders",
        new_tender_files,
        interval_s=2 * HOUR_S,
        window_s=5 * HOUR_S,
        kinds=frozenset({TENDER, LEAD}),
        description="Tender notices published today",
    ),
    FeedSpec(
        "open_tenders",
        open_tender_files,
        interval_s=DAY_S,
        window_s=30 * HOUR_S,
        kinds=frozenset({TENDER, LEAD}),
        description="All open tender notices",
    ),
    FeedSpec(
        "awards",
        award_files,
        interval_s=DAY_S,
        window_s=30 * HOUR_S,
        kinds=frozenset({CONTRACT}),
        description="Award notices of the current and previous fiscal year",
    ),
    FeedSpec(
        "contract_history",
        contract_history_files,
        interval_s=7 * DAY_S,
        window_s=8 * DAY_S,
        kinds=frozenset({CONTRACT}),
        description="Contract history (PSPC contracts since 2023-06-01, one row per amendment)",
    ),
)
# What each feed's rows are read as: tender notices (which are also the leads), or awards and contract history.
ROWS_OF_FEED = {feed.name: TENDER if TENDER in feed.kinds else CONTRACT for feed in FEEDS}
