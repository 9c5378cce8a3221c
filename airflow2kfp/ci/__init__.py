"""Machine outputs for CI: SARIF for code scanning, JUnit XML for test dashboards, Markdown summaries."""
