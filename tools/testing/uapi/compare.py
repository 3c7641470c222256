#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares our uAPI header with the system's <misc/habanalabs.h>.

    compare.py [-v] [OURS [SYSTEM [DIFFERENCES]]]

OURS defaults to include/uapi/misc/habanalabs.h of this tree, SYSTEM to
/usr/include/misc/habanalabs.h (Debian's linux-libc-dev, Linux 6.1). Every
name both headers define is compared:

- object-like macros by value, computed by a C program compiled against
  each header; a macro that is no integer constant with both (an include
  guard, a type, a name the header leaves undefined such as 6.1's SZ_1M)
  by its expansion;
- function-like macros by their value on sample arguments, or by their
  parameters and expansion where the samples do not compile;
- enum constants by value, named enums by size;
- structs and unions by kind, size and alignment; each member, also those
  of anonymous structs and unions, by offset, size and type (bit-fields by
  the bits they occupy).

A macro, enum constant, record or member of the system header that ours
lacks is a difference too ("missing macro NAME", ... in DIFFERENCES).
The differences listed in DIFFERENCES (default: the file "differences"
beside this script, "KEY | OURS | SYSTEM | why" a line) are intended and
expected, with exactly those values.

Prints "compared N items (...)", then each difference, and exits 1 on an
unlisted difference or a listed one that did not occur, or if nothing was
compared or a header yielded nothing (the parser would be broken), 2 if a
tool failed. Needs cc (gcc) and clang (its
JSON AST gives the records).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CC = os.environ.get("CC", "cc")
CLANG = os.environ.get("CLANG", "clang")
# Arguments for function-like macros: zero, small, a bit pattern, all ones.
SAMPLES = ["0", "1", "5", "0x12345678", "0xffffffffull"]


class ToolError(Exception):
    pass


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode:
        raise ToolError("%s failed:\n%s" % (" ".join(cmd), res.stderr.strip()))
    return res.stdout


class Header:
    """One header, laid out as misc/habanalabs.h under its own include dir."""

    def __init__(self, label, path, tmp):
        self.label, self.path = label, path
        self.inc = os.path.join(tmp, label)
        os.makedirs(os.path.join(self.inc, "misc"))
        shutil.copy(path, os.path.join(self.inc, "misc", "habanalabs.h"))
        self.main = os.path.join(tmp, label + "-main.c")
        with open(self.main, "w") as f:
            f.write("#include <misc/habanalabs.h>\n")
        self.macros = self._macros()
        self.enums, self.enum_types, self.records = self._ast()

    def _macros(self):
        """{name: (params or None, body)} of the macros the header defines."""
        with open(self.path) as f:
            text = f.read()
        own = set(re.findall(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", text, re.M))
        out = run([CC, "-E", "-dM", "-I", self.inc, self.main])
        macros = {}
        for line in out.splitlines():
            m = re.match(r"#define (\w+)(\(([^)]*)\))? ?(.*)$", line)
            if m and m.group(1) in own:
                params = None
                if m.group(2) is not None:
                    params = [p.strip() for p in m.group(3).split(",") if p.strip()]
                macros[m.group(1)] = (params, " ".join(m.group(4).split()))
        return macros

    def _ast(self):
        """The header's enum constants, named enums and records, from clang."""
        out = run([CLANG, "-fsyntax-only", "-Xclang", "-ast-dump=json",
                   "-I", self.inc, self.main])
        top = json.loads(out)
        main = os.path.basename(self.main)
        enums, enum_types, records = {}, set(), {}

        def in_header(node):
            # What the main file includes directly: the header (its own
            # includes name the header as includedFrom).
            loc = node.get("loc", {})
            loc = loc.get("expansionLoc", loc)
            return os.path.basename(loc.get("includedFrom", {}).get("file", "")) == main

        def visit(node):
            kind = node.get("kind")
            if kind == "EnumDecl":
                if node.get("name"):
                    enum_types.add(node["name"])
                for c in node.get("inner", []):
                    if c.get("kind") == "EnumConstantDecl":
                        enums[c["name"]] = True
            elif kind == "RecordDecl" and node.get("completeDefinition"):
                if node.get("name"):
                    records[node["name"]] = record(node)
                # Records declared inside a record have file scope in C.
                for c in node.get("inner", []):
                    visit(c)

        for node in top.get("inner", []):
            if in_header(node):
                visit(node)
        return enums, enum_types, records

    def __repr__(self):
        return self.label


# The kernel's fixed-size integer types, as the C types they are on Linux.
INT_TYPES = {"__u8": "unsigned char", "__s8": "signed char", "__u16": "unsigned short",
             "__s16": "short", "__u32": "unsigned int", "__s32": "int",
             "__u64": "unsigned long long", "__s64": "long long"}


def canonical(t):
    t = re.sub(r"\((anonymous|unnamed)[^)]*\)", "(anonymous)", t)
    return re.sub(r"\b__[us](8|16|32|64)\b", lambda m: INT_TYPES[m.group(0)], t)


def record(node):
    """(kind, {member: (type, bitfield)}) with anonymous members flattened."""
    members = {}

    def fields(rec):
        prev = None
        for c in rec.get("inner", []):
            if c.get("kind") == "FieldDecl" and c.get("name"):
                t = c["type"]
                t = canonical(t.get("desugaredQualType", t["qualType"]))
                members[c["name"]] = (t, bool(c.get("isBitfield")))
            elif c.get("kind") == "FieldDecl" and prev is not None:
                # An anonymous struct or union, declared just before its
                # implicit field: its members are the parent's.
                fields(prev)
            prev = c if c.get("kind") == "RecordDecl" and not c.get("name") else None

    fields(node)
    return node["tagUsed"], members


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def items(a, b):
    """The items both headers have: (key, C expression or None, fallback)."""
    out = []
    for name in sorted(set(a.macros) & set(b.macros)):
        pa, ea = a.macros[name]
        pb, eb = b.macros[name]
        text = ("(%s) %s" % (", ".join(pa), ea)) if pa is not None else ea
        textb = ("(%s) %s" % (", ".join(pb), eb)) if pb is not None else eb
        fallback = (text, textb)
        if pa is None and pb is None:
            expr = name if ea and eb else None
            out.append(("macro %s" % name, expr, fallback))
        elif pa is not None and pb is not None and len(pa) == len(pb):
            for s in SAMPLES:
                args = ", ".join([s] * len(pa))
                out.append(("macro %s(%s)" % (name, args), "%s(%s)" % (name, args), fallback))
        else:
            out.append(("macro %s" % name, None, fallback))
    for name in sorted(set(a.enums) & set(b.enums)):
        out.append(("enum constant %s" % name, name, None))
    for name in sorted(a.enum_types & b.enum_types):
        out.append(("sizeof(enum %s)" % name, "sizeof(enum %s)" % name, None))
    for name in sorted(set(a.records) & set(b.records)):
        ka, ma = a.records[name]
        kb, mb = b.records[name]
        out.append(("kind of %s" % name, None, (ka, kb)))
        if ka != kb:
            continue
        t = "%s %s" % (ka, name)
        out.append(("sizeof(%s)" % t, "sizeof(%s)" % t, None))
        out.append(("_Alignof(%s)" % t, "_Alignof(%s)" % t, None))
        for m in sorted(set(ma) & set(mb)):
            (ta, bfa), (tb, bfb) = ma[m], mb[m]
            out.append(("type of %s.%s" % (t, m), None, (ta, tb)))
            if bfa or bfb:
                # The bits a bit-field occupies: set it in a zeroed object.
                out.append(("bits of %s.%s" % (t, m), "BITS(%s, %s)" % (t, m), None))
                continue
            out.append(("offsetof(%s, %s)" % (t, m), "offsetof(%s, %s)" % (t, m), None))
            if not ta.endswith("[]") and not tb.endswith("[]"):
                out.append(("sizeof(%s.%s)" % (t, m), "sizeof(((%s *)0)->%s)" % (t, m), None))
    return out


PROLOGUE = r"""#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <misc/habanalabs.h>

/* The bytes of a zeroed T with bit-field M set to all ones, in hex. */
#define BITS(T, M) bits(({ T v_; memset(&v_, 0, sizeof(v_)); v_.M = -1; \
	memcpy(buf_, &v_, sizeof(v_)); sizeof(v_); }))
static unsigned char buf_[1 << 16];
static unsigned long long bits(size_t n)
{
	unsigned long long h = 1469598103934665603ull;

	while (n--)
		h = (h ^ buf_[n]) * 1099511628211ull;
	return h;
}

int main(void)
{
"""


def program(entries):
    lines = [PROLOGUE]
    first = PROLOGUE.count("\n") + 1
    for i, (_, expr, _) in enumerate(entries):
        lines.append('\tprintf("%%d %%#llx\\n", %d, (unsigned long long)(%s));\n' % (i, expr))
    lines.append("\treturn 0;\n}\n")
    return "".join(lines), first


def evaluate(headers, entries, tmp):
    """{key: [value per header]} of the entries whose expression compiles
    with every header; those whose lines the compiler names are dropped and
    the rest compiled again."""
    live = [e for e in entries if e[1] is not None]
    while True:
        src, first = program(live)
        path = os.path.join(tmp, "values.c")
        with open(path, "w") as f:
            f.write(src)
        bad, values = set(), []
        for h in headers:
            exe = os.path.join(tmp, "values-" + h.label)
            res = subprocess.run([CC, "-std=gnu11", "-w", "-fmax-errors=0", "-I", h.inc,
                                  path, "-o", exe], capture_output=True, text=True)
            if res.returncode:
                # An error in a macro's expansion names the header; the
                # note that follows names our line.
                for m in re.finditer(r"values\.c:(\d+):\d+: (error|note)", res.stderr):
                    line = int(m.group(1)) - first
                    if 0 <= line < len(live):
                        bad.add(line)
                if not bad:
                    raise ToolError("compiling the values for %s failed:\n%s"
                                    % (h.label, res.stderr.strip()))
                break
            values.append(run([exe]).split("\n"))
        if not bad:
            break
        live = [e for i, e in enumerate(live) if i not in bad]
    result = {}
    for i, e in enumerate(live):
        result[e[0]] = [v[i].split(" ", 1)[1] for v in values]
    return result


def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    ours = argv[0] if argv else os.path.join(TOP, "include/uapi/misc/habanalabs.h")
    system = argv[1] if len(argv) > 1 else "/usr/include/misc/habanalabs.h"
    expected = {}
    with open(argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(__file__),
                                                         "differences")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                key, va, vb, why = [x.strip() for x in line.split("|", 3)]
                expected[key] = (va, vb, why)
    tmp = tempfile.mkdtemp(prefix="hl-uapi-")
    try:
        a, b = Header("ours", ours, tmp), Header("system", system, tmp)
        for h in (a, b):
            if not h.macros or not h.records:
                print("%s (%s): found %d macros and %d records: is the parser broken?"
                      % (h.label, h.path, len(h.macros), len(h.records)))
                return 1
        entries = items(a, b)
        values = evaluate((a, b), entries, tmp)
    except ToolError as e:
        print(e)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def shared(x, y):
        return len(set(x) & set(y))

    def only(x, y):
        return sorted(set(x) - set(y))

    records = set(a.records) & set(b.records)
    report = []
    for key, expr, fallback in entries:
        if key in values:
            va, vb = values[key]
            how = "value"
        else:
            va, vb = fallback
            how = "text"
        listed = expected.pop(key, None)
        if listed and listed[:2] == (va, vb):
            report.append("expected: %s (%s): ours %s, system %s: %s"
                          % (key, how, va, vb, listed[2]))
        elif listed:
            report.append("differs: %s (%s): ours %s, system %s, listed as ours %s, system %s"
                          % (key, how, va, vb, listed[0], listed[1]))
        elif va != vb:
            report.append("differs: %s (%s): ours %s, system %s" % (key, how, va, vb))
        elif verbose:
            report.append("same:    %s (%s): %s" % (key, how, va))
    # What the system header has and ours lacks was not compared.
    missing = ["macro %s" % n for n in only(b.macros, a.macros)]
    missing += ["enum constant %s" % n for n in only(b.enums, a.enums)]
    missing += ["record %s" % n for n in only(b.records, a.records)]
    missing += ["member %s.%s" % (r, m) for r in sorted(records)
                for m in only(b.records[r][1], a.records[r][1])]
    for key in missing:
        listed = expected.pop("missing " + key, None)
        if listed:
            report.append("expected: missing %s: %s" % (key, listed[2]))
        else:
            report.append("differs: %s is only in the system header" % key)
    for key in sorted(expected):
        report.append("differs: %s: listed, but not in both headers" % key)
    ndiff = sum(r.startswith("differs") for r in report)

    print("compared %d items: %d macros, %d enum constants, %d records (%d members); "
          "%d differ unexpectedly"
          % (len(entries), shared(a.macros, b.macros), shared(a.enums, b.enums), len(records),
             sum(shared(a.records[r][1], b.records[r][1]) for r in records), ndiff))
    print("only in ours: %d macros, %d records; only in the system header: %d macros, "
          "%d records" % (len(only(a.macros, b.macros)), len(only(a.records, b.records)),
                          len(only(b.macros, a.macros)), len(only(b.records, a.records))))
    if verbose:
        print("only in ours:", " ".join(only(a.macros, b.macros) + only(a.records, b.records)))
    print("\n".join(report))
    if not entries:
        print("nothing compared")
        return 1
    return 1 if ndiff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
