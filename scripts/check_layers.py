#!/usr/bin/env python3
"""Checks the layering of backend/ from its #include lines.

Layers are the folders of backend/; each may include its own headers, and the public headers
(backend/<layer>/include/) of the layers it may use:

    common    -> (nothing: the leaves)
    engine    -> common
    store     -> common
    target    -> common
    dashboard -> store, common   (never the engine: runs execute in a child process)
    cli       -> everything
    main.c    -> cli, common

Fails (exit 1, one line per problem) when a file includes a header of a layer it may not use,
a private header of another layer, or a header that does not exist in backend/; when two layers
include each other; or when source files use each other in a cycle (a.c includes b.h and b.c
includes a.h: two files calling each other; x.h counts as the interface of x.c).

usage: scripts/check_layers.py [BACKEND_DIR]   (default: backend/ next to this script)
"""
import os
import re
import sys

ALLOWED = {
    "common": set(),
    "engine": {"common"},
    "store": {"common"},
    "target": {"common"},
    "dashboard": {"store", "common"},
    "cli": {"common", "engine", "store", "target", "dashboard"},
    "": {"cli", "common"},  # backend/main.c
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def scan(root):
    """Returns {path: (layer, public)} for every header and the list of sources (.c and .h)."""
    headers, sources = {}, []
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        layer = parts[0] if parts else ""
        public = len(parts) >= 2 and parts[1] == "include"
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, f)
            sources.append((path, layer))
            if f.endswith(".h"):
                if f in headers:
                    sys.exit(f"check_layers: header name {f} is used twice "
                             f"({headers[f][2]} and {path}); names must be unique")
                headers[f] = (layer, public, path)
    return headers, sources


def module(path):
    return os.path.splitext(path.replace(os.sep + "include" + os.sep, os.sep))[0]


def find_cycle(graph):
    """Returns one cycle (a list of nodes) in a {node: set(nodes)} graph, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "backend")
    root = os.path.normpath(root)
    headers, sources = scan(root)
    problems = []
    layer_graph, file_graph = {}, {}
    c_files = {module(p) + ".c" for p, _ in sources if p.endswith(".c")}
    for path, layer in sources:
        rel = os.path.relpath(path, root)
        if layer not in ALLOWED:
            problems.append(f"{rel}: folder '{layer}' is not a known layer "
                            f"({', '.join(sorted(k for k in ALLOWED if k))})")
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            name = os.path.basename(inc)
            if name not in headers or inc != name:
                problems.append(f"{rel}: includes \"{inc}\", which is not a header of backend/ "
                                f"(include headers by their bare name)")
                continue
            hlayer, public, hpath = headers[name]
            if hlayer != layer:
                if not public:
                    problems.append(f"{rel}: includes {name}, a private header of "
                                    f"{hlayer or 'backend'}/")
                elif hlayer not in ALLOWED[layer]:
                    problems.append(f"{rel}: includes {name} of layer {hlayer}/, which "
                                    f"{layer or 'main.c'} may not use (it may use: "
                                    f"{', '.join(sorted(ALLOWED[layer])) or 'nothing'})")
                layer_graph.setdefault(layer, set()).add(hlayer)
            # A .c file that includes x.h uses x.c (when there is one).
            a, b = module(path), module(hpath)
            if path.endswith(".c") and a != b and b + ".c" in c_files:
                file_graph.setdefault(a, set()).add(b)
    cycle = find_cycle(layer_graph)
    if cycle:
        problems.append("layers include each other: " + " -> ".join(c or "main" for c in cycle))
    cycle = find_cycle(file_graph)
    if cycle:
        problems.append("files include each other in a cycle: " +
                        " -> ".join(os.path.relpath(c, root) for c in cycle))
    for p in problems:
        print(f"check_layers: {p}")
    if problems:
        return 1
    print(f"check_layers: {len(sources)} files in {root}: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
