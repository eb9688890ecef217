"""SAM.gov Contract Awards v1: spec and adapter."""
