"""Machine annotators: programs (a vision-language model behind an OpenAI-compatible
endpoint, a debate of such models, an offline detector) that answer a classification
batch's question. Their verdicts are `annotations.ExternalAnnotation` rows with source
`machine:<name>`, so the dashboard measures them against our workers like any other source.
Sits above annotations, beside quality: no lower app imports it (docs/machines.md)."""
