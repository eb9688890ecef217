"""CanadaBuys open data (tender notices, award notices, contract history), mirrored from its CSV files."""
