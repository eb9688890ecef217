"""ITA Trade Leads v2 (retired; served by any compatible service): spec and adapter."""
