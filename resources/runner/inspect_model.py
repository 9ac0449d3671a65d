"""Probe used by `dlhub init` to learn about a model file without guessing.

Standard library only (scikit-learn is imported only by the `sklearn` command).
Each command prints one JSON object on stdout.

  inspect_model.py pickle FILE            classes named in a pickle, read from its opcodes; never unpickles
  inspect_model.py sklearn FILE METHOD    loads a scikit-learn estimator (pickle|joblib) and describes it
  inspect_model.py functions FILE         top-level functions of a .py file via ast; never imports it
"""
import ast
import bz2
import gzip
import json
import lzma
import pickletools
import sys
import zlib

STRING_OPS = {'SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE', 'SHORT_BINSTRING', 'BINSTRING', 'STRING'}


def read_payload(path):
    """Bytes of the pickle, decompressed when joblib compressed it."""
    with open(path, 'rb') as fp:
        data = fp.read()
    for magic, opener in ((b'\x1f\x8b', gzip.decompress), (b'BZh', bz2.decompress),
                          (b'\xfd7zXZ', lzma.decompress), (b'\x78', zlib.decompress)):
        if data.startswith(magic):
            try:
                return opener(data), opener.__module__
            except Exception:  # not actually compressed; read it as it is
                pass
    return data, None


def globals_by_opcodes(data):
    """(module, name) pairs from GLOBAL / STACK_GLOBAL, following the memo for protocol 4 strings."""
    found, strings, memo = [], [], {}
    last = None
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in STRING_OPS:
            last = arg if isinstance(arg, str) else None
            strings.append(last)
        elif name == 'MEMOIZE':
            memo[len(memo)] = last
        elif name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            memo[arg] = last
        elif name in ('GET', 'BINGET', 'LONG_BINGET'):
            last = memo.get(arg)
            strings.append(last)
        elif name == 'GLOBAL':
            module, _, attr = arg.partition(' ')
            found.append([module, attr])
        elif name == 'STACK_GLOBAL' and len(strings) >= 2 and strings[-2] and strings[-1]:
            found.append([strings[-2], strings[-1]])
        if name == 'STOP':
            break
    return found


def globals_by_scan(data):
    """Fallback for joblib files whose raw array bytes break genops: find SHORT_BINUNICODE pairs before STACK_GLOBAL, and text GLOBALs."""
    found, tokens, i = [], [], 0
    while True:
        i = data.find(b'\x8c', i)
        if i < 0 or i + 2 > len(data):
            break
        n = data[i + 1]
        raw = data[i + 2:i + 2 + n]
        end = i + 2 + n
        if len(raw) == n and n > 0:
            try:
                tokens.append((i, end + (1 if data[end:end + 1] == b'\x94' else 0), raw.decode('ascii')))
            except UnicodeDecodeError:
                pass
        i += 1
    for (_, end1, mod), (start2, end2, attr) in zip(tokens, tokens[1:]):
        if start2 == end1 and data[end2:end2 + 1] == b'\x93' and mod.replace('.', '').replace('_', '').isalnum():
            found.append([mod, attr])
    for line in data.split(b'\nc')[1:]:
        parts = line.split(b'\n')
        if len(parts) >= 2:
            try:
                mod, attr = parts[0].decode('ascii'), parts[1].decode('ascii')
            except UnicodeDecodeError:
                continue
            if mod.replace('.', '').replace('_', '').isalnum() and attr.isidentifier():
                found.append([mod, attr])
    return found


def cmd_pickle(path):
    data, compression = read_payload(path)
    result = {'compression': compression, 'method': 'genops'}
    try:
        result['globals'] = globals_by_opcodes(data)
    except Exception as err:  # joblib writes array buffers between opcodes
        result['method'] = 'scan'
        result['genops_error'] = str(err)
        result['globals'] = globals_by_scan(data)
    result['is_pickle'] = data[:1] == b'\x80' or bool(result['globals'])
    return result


def jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def cmd_sklearn(path, method):
    import sklearn
    from sklearn.base import is_classifier
    if method == 'joblib':
        import joblib
        model = joblib.load(path)
    else:
        import pickle
        with open(path, 'rb') as fp:
            model = pickle.load(fp)
    classes = getattr(model, 'classes_', None)
    return {
        'module': type(model).__module__,
        'class': type(model).__name__,
        'sklearn_version': sklearn.__version__,
        'n_features_in': int(model.n_features_in_) if hasattr(model, 'n_features_in_') else None,
        'classes': None if classes is None else [jsonable(c.item() if hasattr(c, 'item') else c) for c in classes],
        'is_classifier': bool(is_classifier(model)),
        'has_predict': callable(getattr(model, 'predict', None)),
        'has_predict_proba': hasattr(model, 'predict_proba') and callable(getattr(model, 'predict_proba', None)),
        'summary': str(model)[:2000],
    }


SIMPLE = {'int': 'integer', 'float': 'number', 'complex': 'complex', 'str': 'string', 'bool': 'boolean',
          'bytes': 'python object', 'datetime': 'datetime', 'timedelta': 'timedelta'}


def annotation_type(node):
    """DLHub argument type for an annotation; None when it says nothing useful."""
    if node is None:
        return None
    text = ast.unparse(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # string annotations
        try:
            return annotation_type(ast.parse(node.value, mode='eval').body)
        except SyntaxError:
            return {'type': 'python object', 'python_type': node.value}
    base, args = node, []
    if isinstance(node, ast.Subscript):
        base = node.value
        inner = node.slice
        args = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        parts = [p for p in (node.left, node.right) if not (isinstance(p, ast.Constant) and p.value is None)]
        return annotation_type(parts[0]) if len(parts) == 1 else {'type': 'python object', 'python_type': text}
    name = ast.unparse(base).split('.')[-1]
    if name in SIMPLE:
        return {'type': SIMPLE[name]}
    if name == 'Optional' and args:
        return annotation_type(args[0])
    if name in ('list', 'List', 'Sequence', 'Iterable'):
        item = annotation_type(args[0]) if args else None
        return {'type': 'list', 'item_type': item or {'type': 'python object'}}
    if name in ('dict', 'Dict', 'Mapping'):
        return {'type': 'dict', 'properties': {}}
    if name in ('tuple', 'Tuple') and args and not any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in args):
        return {'type': 'tuple', 'element_types': [annotation_type(a) or {'type': 'python object'} for a in args]}
    if name in ('ndarray', 'NDArray', 'ArrayLike'):
        return {'type': 'ndarray', 'shape': [None], 'unknown_shape': True}
    if name in ('Any', 'object'):
        return None
    return {'type': 'python object', 'python_type': text}


def literal(node):
    try:
        return True, ast.literal_eval(node)
    except (ValueError, SyntaxError):
        return False, None


def describe_function(fn):
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    required = [a for a in positional if a.arg not in defaults]
    parameters = {}
    for a in positional + args.kwonlyargs:
        default = defaults.get(a.arg)
        if default is None and a in args.kwonlyargs:
            idx = args.kwonlyargs.index(a)
            default = args.kw_defaults[idx]
        if default is not None:
            ok, value = literal(default)
            if ok:
                parameters[a.arg] = value
    inputs = [{'name': a.arg, 'type': annotation_type(a.annotation)} for a in required]
    return {
        'name': fn.name,
        'line': fn.lineno,
        'doc': ast.get_docstring(fn),
        'inputs': inputs,
        'output': annotation_type(fn.returns),
        'parameters': parameters,
    }


def cmd_functions(path):
    with open(path, 'rb') as fp:
        tree = ast.parse(fp.read(), filename=path)
    functions = [describe_function(n) for n in tree.body
                 if isinstance(n, ast.FunctionDef) and not n.name.startswith('_')]
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(a.name.split('.')[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imports.add(node.module.split('.')[0])
    return {'functions': functions, 'imports': sorted(imports), 'stdlib': sorted(i for i in imports if i in sys.stdlib_module_names)}


def main(argv):
    command = argv[1] if len(argv) > 1 else ''
    try:
        if command == 'pickle':
            out = cmd_pickle(argv[2])
        elif command == 'sklearn':
            out = cmd_sklearn(argv[2], argv[3])
        elif command == 'functions':
            out = cmd_functions(argv[2])
        else:
            out = {'error': 'usage: inspect_model.py pickle|sklearn|functions FILE [METHOD]', 'type': 'UsageError'}
    except Exception as err:  # reported to the caller as data, so it can explain what to do
        out = {'error': str(err), 'type': type(err).__name__}
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
