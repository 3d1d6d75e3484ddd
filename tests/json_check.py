#!/usr/bin/env python3
"""tests/json_check.py - check a cpactl --json document against man/cpactl-json.7.

  json_check.py MANPAGE COMMAND [--failure] < document.json
  json_check.py MANPAGE --commands        (the documented commands, one a line)

The man page lists, per command (a .Ss under COMMANDS) and per shape (a .Ss
under SHAPES), items `.It Li PATH Ar TYPE` (see the page's "How fields are
listed").  A document passes when every documented member is present (unless
its type ends in '?') with one of its types, and no top-level member is
undocumented (the members of shapes are closed too).  With --failure the
document must carry a valid .error (the Errors list) and the command's own
members are checked for type only: a failed command prints what it got to.
Prints each problem on stdout; exit 1 when there is one, 2 on bad usage.
"""
import json
import re
import sys

ITEM = re.compile(r'^\.It Li (\S+) Ar (\S+)$')
BASIC = {
    'string': lambda v: isinstance(v, str),
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    'boolean': lambda v: isinstance(v, bool),
    'object': lambda v: isinstance(v, dict),
    'array': lambda v: isinstance(v, list),
    'null': lambda v: v is None,
    'any': lambda v: True,
}


class Node:
    def __init__(self):
        self.types = None        # list of type names; None: not documented
        self.optional = False
        self.members = {}        # name -> Node
        self.items = None        # Node for [] elements


def parse_page(path):
    """{'commands': {name: Node}, 'shapes': {name: Node}, 'errors': Node}"""
    tables = {'commands': {}, 'shapes': {}, 'errors': {}}
    part, name = None, None
    for line in open(path, encoding='utf-8'):
        line = line.rstrip('\n').replace('\\&', '')
        if line.startswith('.Sh '):
            part = {'.Sh COMMANDS': 'commands', '.Sh SHAPES': 'shapes',
                    '.Sh DESCRIPTION': 'errors'}.get(line)
            name = None
        elif line.startswith('.Ss ') and part:
            name = line[4:].strip()
            if part == 'errors' and name != 'Errors':
                name = None
            elif name is not None:
                tables[part].setdefault(name, Node())
        m = ITEM.match(line)
        if m and part and name:
            add(tables[part][name], m.group(1), m.group(2))
    return tables


def add(root, path, spec):
    node = root
    if path != '.':
        for token in re.findall(r'\.[A-Za-z0-9_-]+|\[\]', path if path.startswith('.') else '.' + path):
            if token == '[]':
                node.items = node.items or Node()
                node = node.items
            else:
                node = node.members.setdefault(token[1:], Node())
    node.optional = spec.endswith('?')
    node.types = spec.rstrip('?').split('|')


def type_ok(value, types, shapes, where, problems):
    for t in types:
        if t in BASIC:
            if BASIC[t](value):
                return True
        elif t in shapes:
            sub = []
            check(shapes[t], value, shapes, where, sub, closed=True, failure=False)
            if not sub:
                return True
        else:
            problems.append('%s: the page names an unknown type %r' % (where, t))
            return True
    problems.append('%s: %s is not %s' % (where, json.dumps(value)[:60], '|'.join(types)))
    return False


def check(node, value, shapes, where, problems, closed, failure):
    if node.types and not type_ok(value, node.types, shapes, where or '.', problems):
        return
    if isinstance(value, dict) and node.members:
        for key, member in node.members.items():
            if key in value:
                check(member, value[key], shapes, '%s.%s' % (where, key), problems, False, False)
            elif not member.optional and not failure:
                problems.append('%s.%s: documented but missing' % (where, key))
        if closed:
            for key in value:
                if key not in node.members and not (key == 'error' and where == ''):
                    problems.append('%s.%s: not documented' % (where, key))
    if isinstance(value, list) and node.items:
        for i, item in enumerate(value):
            check(node.items, item, shapes, '%s[%d]' % (where, i), problems,
                  closed=(where == ''), failure=False)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2])
        return 2
    tables = parse_page(argv[1])
    if argv[2] == '--commands':
        print('\n'.join(tables['commands']))
        return 0
    command, failure = argv[2], '--failure' in argv[3:]
    if command not in tables['commands']:
        print('%s: no ".Ss %s" under COMMANDS in %s' % (command, command, argv[1]))
        return 1
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        print('%s: stdout is not one JSON document: %s' % (command, e))
        return 1
    problems = []
    spec = tables['commands'][command]
    errors = tables['errors'].get('Errors')
    if failure:
        if not isinstance(doc, dict) or 'error' not in doc:
            problems.append('.error: missing from a failure document')
        else:
            check(errors, {'error': doc['error']}, tables['shapes'], '', problems, True, False)
            if list(doc) != ['error']:
                check(spec, doc, tables['shapes'], '', problems, True, True)
    else:
        if isinstance(doc, dict) and 'error' in doc:
            problems.append('.error: present in a document of success: %s' % json.dumps(doc['error']))
        check(spec, doc, tables['shapes'], '', problems, True, False)
    for p in problems:
        print('%s: %s' % (command, p))
    return 1 if problems else 0


sys.exit(main(sys.argv))
