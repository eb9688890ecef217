"""The mirror pattern: a source that publishes whole files, refreshed on a schedule into a local index that answers
queries (stdlib SQLite, one file per replica). Knows nothing of GraphQL nor of any one source."""
