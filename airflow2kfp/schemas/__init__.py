"""JSON Schemas of the files airflow2kfp writes, shipped with the package (package data).

`conversion.schema.json` describes conversion.json (docs/conversion-json.md); CI users can validate
what they read against it. Tests validate every fixture's conversion.json against it.
"""
