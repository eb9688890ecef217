"""The CanadaBuys imitation's data is plausible: notices are published before they close and never in the future."""

from __future__ import annotations

from datetime import date

from sandbox.canadabuys_data import feed_files

TODAY = date(2026, 12, 6)


def test_tender_notices_are_published_by_today_and_before_they_close() -> None:
    files = feed_files(1729, 400, TODAY, 0)
    published_dates = []
    for _header, rows in files.tables.values():
        for row in rows:
            published = row.get("publicationDate-datePublication")
            if not published:
                continue
            published_dates.append(date.fromisoformat(published))
            closing = row.get("tenderClosingDate-appelOffresDateCloture", "")
            if closing:
                assert date.fromisoformat(published) <= date.fromisoformat(closing[:10])
    assert len(published_dates) >= 100
    assert max(published_dates) <= TODAY
