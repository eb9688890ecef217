"""UK Find a Tender (OCDS release packages), mirrored locally: the successor of ITA's UK leads."""
