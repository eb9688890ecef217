"""Glue: GraphQL arguments -> domain queries -> upstream clients and loaders -> schema types."""
