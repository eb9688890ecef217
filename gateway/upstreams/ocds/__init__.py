"""One OCDS client and normaliser: release packages pulled in update windows, compiled per contracting process."""
