"""The procurement GraphQL gateway."""
