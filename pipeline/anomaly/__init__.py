"""The field's anomaly-detection datasets: `ilid import` (samples) and `ilid mvtec-layout` (a tree)."""
