# SPDX-License-Identifier: MIT
"""The parameter specifications (plugins/vm/*/params.h, printed by dump_param_specs) agree with
the README's parameter tables and with `babeltrace2 help`.

usage: check_params.py DUMP_PARAM_SPECS PLUGIN_DIR README

For each component class: the README has a table after the line "`CLASS` parameters:" whose
rows name exactly the spec's parameters, each with the type the spec gives ("string",
"integer, MIN to MAX", ", mandatory", ...); `babeltrace2 help CLASS` has a line "  NAME=..."
for every parameter, with the same type in parentheses.
"""
import re
import subprocess
import sys

from bt_cli import babeltrace2


def number(text):
    if re.fullmatch(r"-?[0-9]+", text):
        return text
    value = float(text)
    return str(int(value)) if value == int(value) else repr(value)


def type_text(kind, presence, low, high):
    words = {
        "string": "string",
        "boolean": "boolean",
        "string_array": "array of strings",
        "signed_integer": "integer, {} to {}",
        "unsigned_integer": "integer, {} to {}",
        "real": "number, {} to {}",
    }[kind]
    text = words.format(number(low), number(high))
    return text + (", mandatory" if presence == "mandatory" else "")


def readme_tables(readme):
    """{class: [(name, type column)]} for every "`CLASS` parameters:" table."""
    tables = {}
    current = None
    for line in readme.splitlines():
        header = re.match(r"^`([a-z]+\.vm\.[a-z]+)` parameters", line)
        if header:
            current = tables.setdefault(header.group(1), [])
            continue
        if current is None:
            continue
        row = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if row:
            current.append((row.group(1), row.group(2)))
        elif line.startswith("|"):
            continue  # the header and separator rows
        elif line.strip() == "" and not current:
            continue  # the blank line between the heading and the table
        else:
            current = None
    return tables


def main():
    dump, plugin_dir, readme_path = sys.argv[1:4]
    specs = {}
    for line in subprocess.run([dump], check=True, capture_output=True, text=True).stdout.splitlines():
        component_class, name, kind, presence, low, high = line.split("\t")
        specs.setdefault(component_class, []).append((name, type_text(kind, presence, low, high)))
    with open(readme_path, encoding="utf-8") as f:
        tables = readme_tables(f.read())

    problems = []
    for component_class, params in specs.items():
        expected = dict(params)
        rows = tables.get(component_class)
        if rows is None:
            problems.append(f"README: no table after a line \"`{component_class}` parameters:\"")
        else:
            names = [name for name, _ in rows]
            for name in sorted(set(expected) - set(names)):
                problems.append(f"README, {component_class}: parameter `{name}` is missing from the table")
            for name in sorted(set(names) - set(expected)):
                problems.append(f"README, {component_class}: parameter `{name}` is not in the specification")
            for name in sorted({n for n in names if names.count(n) > 1}):
                problems.append(f"README, {component_class}: parameter `{name}` appears more than once")
            for name, column in rows:
                if name in expected and column != expected[name]:
                    problems.append(f"README, {component_class}: `{name}` has type \"{column}\", "
                                    f"the specification says \"{expected[name]}\"")
        help_text = subprocess.run(
            babeltrace2(plugin_dir) + ["help", component_class],
            check=True, capture_output=True, text=True).stdout
        for name, kind in params:
            line = re.search(r"^  " + re.escape(name) + r"=\S*  \(([^)]*)\)$", help_text, re.MULTILINE)
            if not line:
                problems.append(f"help {component_class}: no line for parameter `{name}`")
            elif line.group(1) != kind:
                problems.append(f"help {component_class}: `{name}` has type \"{line.group(1)}\", expected \"{kind}\"")
    for component_class in sorted(set(tables) - set(specs)):
        problems.append(f"README: a parameter table for `{component_class}`, which has no specification")

    for problem in problems:
        print("FAIL:", problem)
    print(f"{sum(len(p) for p in specs.values())} parameters of {len(specs)} component classes checked, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
