"""The label stage: an LLM turns each product's text into ILID's five fields."""
