"""UK Contracts Finder (OCDS release packages), mirrored locally: the successor of ITA's UK leads below threshold."""
