"""ovlab reports: turn ovlab benchmark and conformance JSON into reports and CI verdicts."""
