"""The GraphQL vocabulary: object types, inputs and enums. Knows nothing of transport."""
