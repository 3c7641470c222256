#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""rst_check.py FILE...: each reStructuredText file parses with docutils
without a warning (malformed tables, broken markup, bad indentation).

Sphinx's own roles and directives, which the kernel's documentation build
provides and plain docutils lacks, are accepted without being checked.
Prints each warning; exits 1 if there was one."""

import io
import sys

import docutils.core
import docutils.nodes
from docutils.parsers.rst import Directive, directives, roles

SPHINX_ROLES = ("doc", "ref", "c:func", "c:type", "c:macro")
SPHINX_DIRECTIVES = ("toctree", "kernel-doc")


def sphinx_role(_name, rawtext, text, _lineno, _inliner, _options=None, _content=None):
    return [docutils.nodes.literal(rawtext, text)], []


class AnyOption(dict):
    """An option_spec that takes every option as plain text."""

    def __contains__(self, _key):
        return True

    def __getitem__(self, _key):
        return directives.unchanged


class SphinxDirective(Directive):
    has_content = True
    optional_arguments = 8
    final_argument_whitespace = True
    option_spec = AnyOption()

    def run(self):
        return []


def main(files):
    for name in SPHINX_ROLES:
        roles.register_local_role(name, sphinx_role)
    for name in SPHINX_DIRECTIVES:
        directives.register_directive(name, SphinxDirective)
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        warnings = io.StringIO()
        docutils.core.publish_doctree(
            source,
            source_path=path,
            settings_overrides={
                "report_level": 2,
                "halt_level": 5,
                "warning_stream": warnings,
            },
        )
        if warnings.getvalue():
            bad = 1
            sys.stdout.write(warnings.getvalue())
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
