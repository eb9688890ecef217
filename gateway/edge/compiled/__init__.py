"""Execution compiled once per schema: field resolvers whose argument conversion is planned at start-up."""
