# Loading the preset: functions used by the Snakefile before it validates the config.

import json
from pathlib import Path

import yaml

from glam_bench.pipeline.preset_checks import load_yaml_strict, merge_overrides

#: The preset the Snakefile embeds when no --configfile is given.
DEFAULT_PRESET = "workflows/config/default.yaml"


def plain(data):
    """A plain dict/list copy of Snakemake's config object, fit for YAML and jsonschema."""
    return json.loads(json.dumps(data))


def _schema_node(schema, root):
    while isinstance(schema, dict) and "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    return schema if isinstance(schema, dict) else {}


def typed_overrides(value, schema, root=None):
    """``value`` with the strings of `--config key=value` read as YAML where the schema wants
    a boolean, number, list or mapping (Snakemake keeps `true`, `[1, 2]` and nested values as
    strings). Strings the schema wants as strings are left alone."""
    root = schema if root is None else root
    schema = _schema_node(schema, root)
    if isinstance(value, str) and schema.get("type") in ("boolean", "integer", "number", "array",
                                                          "object"):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return value if isinstance(parsed, str) else typed_overrides(parsed, schema, root)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {key: typed_overrides(item, properties.get(key, extra if isinstance(extra, dict)
                                                          else {}), root)
                for key, item in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [typed_overrides(item, schema["items"], root) for item in value]
    return value


def preset_files(workflow):
    """The preset files of this run: the --configfile ones, else the embedded default."""
    return list(workflow.config_settings.configfiles) or [Path(DEFAULT_PRESET)]


def check_config_files(workflow):
    """Read every preset file of this run strictly (duplicate keys, YAML errors with line and
    column)."""
    for path in preset_files(workflow):
        load_yaml_strict(path)


def preset_with_overrides(workflow, schema):
    """The preset files merged in order, then the --config overrides (read as the schema's
    types) merged in key by key at every depth: Snakemake itself replaces a whole block
    (`training={model: X}` dropped every other training key)."""
    preset = {}
    for path in preset_files(workflow):
        preset = merge_overrides(preset, load_yaml_strict(path))
    overrides = typed_overrides(plain(dict(workflow.config_settings.config)), schema)
    return merge_overrides(preset, overrides)


def load_schema(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
