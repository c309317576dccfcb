"""ML benchmarks on the provenance graph: descriptors, models, the nested-CV protocol and the benchmark tasks."""
