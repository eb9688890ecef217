"""Canadian procurement data API (retired; served by any compatible service): spec and adapter."""
