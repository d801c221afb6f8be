// Placeholder: filled in by the agent issue's collector work.
