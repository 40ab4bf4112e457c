"""The GraphQL surface: Strawberry types, inputs, enums, errors, pagination and the federated
schema object with its extensions. `schema.build.schema` is the schema the service serves."""
