"""The HTTP edge: everything between an HTTP request and the schema's execution, one room per job.

Middlewares (composed in app.py): `request_id`, `request_size`, `access` (keys, load shedding, per-minute limits).
`shedding` bounds the work of the process (execution slots, the queue before them). The /graphql `endpoint` ties the
rest: `protocol` (GraphQL over HTTP: reading, parameters, media types), `csrf`, `persisted` (documents by hash),
`operation` (the `operationName` rule, root fields, the query limits), `documents` (long documents read and validated
off the event loop; validation codes), `response_cache` (whole responses, HTTP validators), `schema` (assembly,
document checks), `inputs` (variables and arguments checked before execution), `cost` (one cost decision per
request), `graphql_errors` (codes, masking, collapsing). `refusals` writes every coded HTTP refusal; `graphiql` serves
the explorer.
"""
