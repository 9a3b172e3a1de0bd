"""What the tests, the benchmarks and the demo share, kept out of the stages: a local HTTP server
(`server`), golden records of saved product pages (`golden`) and a tiny Llama checkpoint built on the
spot (`tiny_llama`, which needs the `llm` extra)."""
