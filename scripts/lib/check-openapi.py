"""Validates the OpenAPI document the server embeds against the OpenAPI 3.1 schema.

Run by scripts/test; the Swift test OpenAPITests checks that it matches the routes.
"""
import pathlib
import sys

import yaml
from openapi_spec_validator import validate

source = pathlib.Path(__file__).resolve().parents[2] / "Sources/CourierServer/OpenAPI/openapi.yaml"
document = source.read_text()
validate(yaml.safe_load(document))
print(f"scripts/test: {source.name} is a valid OpenAPI {yaml.safe_load(document)['openapi']} document")
sys.exit(0)
