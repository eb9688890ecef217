"""The HTTP edge: everything between an HTTP request and the schema's execution, one room per job.

Middlewares (composed in app.py): `request_id`, `request_size`, `access` (keys and per-minute limits). The /graphql
`endpoint` ties the rest: `protocol` (GraphQL over HTTP: reading, parameters, media types), `csrf`, `persisted`
(documents by hash), `operation` (the `operationName` rule, root fields), `response_cache` (whole responses, HTTP
validators), `schema` (assembly, document checks), `cost` (one cost decision per request), `graphql_errors` (codes,
masking). `refusals` writes every coded HTTP refusal; `graphiql` serves the explorer.
"""
