"""SAM.gov Contract Opportunities as a mirror: the daily CSV extract, and API pulls of the day's postings."""
