/**
 * Which imports a pickle may make. A pickle can only run code through callables it imports
 * (GLOBAL, STACK_GLOBAL, INST, extension codes), so every import is classified: ALLOW holds
 * what real model files need (PyTorch state dicts, NumPy arrays, scikit-learn estimators,
 * joblib wrappers, plain containers), DENY the callables that run commands, code, files,
 * network or nested unpickling. Anything else is unknown — a finding too, because the
 * default is an allow list, not only a deny list. The deny list wins over every allowance.
 */

export type ImportStatus = 'allowed' | 'denied' | 'unknown';

/**
 * Exact names ('module.name') and prefix patterns ('module.*': any name in that module or
 * its submodules). Prefix patterns never cover dotted names ('Class.method' reaches methods)
 * or dunder names; only exact entries do.
 */
export const DEFAULT_ALLOW: readonly string[] = [
  // Containers and plain values
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.deque',
  'collections.Counter',
  'builtins.set',
  'builtins.frozenset',
  'builtins.slice',
  'builtins.complex',
  'builtins.bytearray',
  'builtins.bytes',
  'builtins.dict',
  'builtins.list',
  'builtins.tuple',
  'builtins.int',
  'builtins.float',
  'builtins.str',
  'builtins.bool',
  'builtins.range',
  'builtins.object',
  '__builtin__.set',
  '__builtin__.frozenset',
  '__builtin__.slice',
  '__builtin__.complex',
  '__builtin__.bytearray',
  '__builtin__.object',
  '_codecs.encode',
  'copyreg._reconstructor',
  'copyreg.__newobj__',
  'copyreg.__newobj_ex__',
  'copy_reg._reconstructor',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'fractions.Fraction',
  'uuid.UUID',
  // PyTorch state dicts and tensors
  'torch._utils._rebuild_*',
  'torch._tensor._rebuild_from_type_v2',
  'torch.serialization._get_layout',
  'torch.device',
  'torch.Size',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  ...[
    'Float',
    'Double',
    'Half',
    'BFloat16',
    'Long',
    'Int',
    'Short',
    'Char',
    'Byte',
    'Bool',
    'ComplexFloat',
    'ComplexDouble',
    'QUInt8',
    'QInt8',
    'QInt32',
    'QUInt4x2',
    'QUInt2x4',
    'Untyped',
  ].map((t) => `torch.${t}Storage`),
  ...[
    'float16',
    'float32',
    'float64',
    'bfloat16',
    'half',
    'float',
    'double',
    'complex64',
    'complex128',
    'int8',
    'int16',
    'int32',
    'int64',
    'uint8',
    'bool',
    'qint8',
    'quint8',
    'qint32',
    'float8_e4m3fn',
    'float8_e5m2',
    'strided',
    'sparse_coo',
    'sparse_csr',
    'channels_last',
    'contiguous_format',
    'preserve_format',
  ].map((t) => `torch.${t}`),
  'torch.nn.modules.*',
  // NumPy arrays and scalars
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy._core.numeric._frombuffer',
  'numpy.dtype',
  'numpy.ndarray',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random.mtrand.RandomState',
  'numpy.random._mt19937.MT19937',
  'numpy.random._pcg64.PCG64',
  ...[
    'bool_',
    'int8',
    'int16',
    'int32',
    'int64',
    'uint8',
    'uint16',
    'uint32',
    'uint64',
    'float16',
    'float32',
    'float64',
    'longdouble',
    'complex64',
    'complex128',
    'str_',
    'bytes_',
    'object_',
    'datetime64',
    'timedelta64',
  ].map((t) => `numpy.${t}`),
  'numpy.dtypes.*',
  // scikit-learn estimators, SciPy sparse matrices, joblib array wrappers
  'sklearn.*',
  'scipy.sparse.*',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'joblib.numpy_pickle_compat.ZNDArrayWrapper',
];

/** Whole modules (and their submodules) whose every name is denied. */
export const DENY_MODULES: readonly string[] = [
  'os',
  'posix',
  'nt',
  'posixpath',
  'ntpath',
  'subprocess',
  'sys',
  'socket',
  'shutil',
  'pty',
  'importlib',
  'imp',
  'runpy',
  'webbrowser',
  'ctypes',
  'multiprocessing',
  'pickle',
  '_pickle',
  'cPickle',
  'dill',
  'cloudpickle',
  'marshal',
  'code',
  'codeop',
  'pdb',
  'bdb',
  'doctest',
  'timeit',
  'cProfile',
  'profile',
  'trace',
  'commands',
  'popen2',
  'platform',
  'pip',
  'setuptools',
  'distutils',
  'ensurepip',
  'venv',
  'site',
  'zipimport',
  'pkgutil',
  'signal',
  'mmap',
  'tempfile',
  'asyncio.subprocess',
  'urllib.request',
  'urllib2',
  'http.client',
  'httplib',
  'requests',
  'ftplib',
  'smtplib',
  'telnetlib',
  'xmlrpc',
  'idlelib',
  '_io',
  '_posixsubprocess',
  '_thread',
  'thread',
  'threading',
];

/** Single callables that are denied (their modules are otherwise fine or unknown). */
export const DENY_NAMES: readonly string[] = [
  ...[
    'eval',
    'exec',
    'execfile',
    'compile',
    'open',
    'getattr',
    'setattr',
    'delattr',
    '__import__',
    'globals',
    'locals',
    'vars',
    'breakpoint',
    'input',
    'help',
    'exit',
    'quit',
    'memoryview',
    'reload',
    'file',
    'apply',
  ].flatMap((n) => [`builtins.${n}`, `__builtin__.${n}`]),
  'types.CodeType',
  'types.FunctionType',
  'types.MethodType',
  'types.LambdaType',
  'types.ModuleType',
  'io.open',
  'io.open_code',
  'io.FileIO',
  'codecs.open',
  'fileinput.input',
  'fileinput.FileInput',
  'linecache.getline',
  'linecache.getlines',
  'glob.glob',
  'operator.attrgetter',
  'operator.methodcaller',
  '_operator.attrgetter',
  '_operator.methodcaller',
  'functools.reduce',
  'asyncio.create_subprocess_exec',
  'asyncio.create_subprocess_shell',
  'asyncio.base_events.BaseEventLoop.subprocess_exec',
  'torch.load',
  'torch.serialization.load',
  'torch.hub.load',
  'torch.hub.load_state_dict_from_url',
  'torch.hub.download_url_to_file',
  'torch.jit.load',
  'torch.storage._load_from_bytes',
  'torch.package.PackageImporter',
  'numpy.load',
  'numpy.lib.npyio.load',
  'numpy.testing._private.utils.runstring',
  'joblib.load',
  'yaml.load',
  'yaml.unsafe_load',
  'jinja2.Template',
];

const ALLOW_EXACT = new Set(DEFAULT_ALLOW.filter((p) => !p.endsWith('*')));
const ALLOW_PREFIXES = DEFAULT_ALLOW.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
const DENY_EXACT = new Set(DENY_NAMES);

/** A compiled allow list: the defaults plus the user's extra entries. */
export interface ImportPolicy {
  classify(module: string, name: string): ImportStatus;
}

function withinModule(module: string, denied: string): boolean {
  return module === denied || module.startsWith(`${denied}.`);
}

/** A dotted path is denied when it lies in a denied module or starts with a denied name. */
function deniedPath(parts: string[]): boolean {
  const path = parts.join('.');
  if (DENY_MODULES.some((d) => withinModule(path, d))) return true;
  for (let k = 1; k <= parts.length; k++) if (DENY_EXACT.has(parts.slice(0, k).join('.'))) return true;
  return false;
}

/**
 * True when (module, name) is on the deny list, including dotted names (protocol 4 resolves
 * 'a.b' as attributes) that reach a denied callable or module: 'builtins' + 'getattr.__call__',
 * 'torch.serialization' + 'os.system' (a module re-exported as an attribute), '__builtins__.eval'.
 */
export function isDenied(module: string, name: string): boolean {
  const nameParts = name.split('.').map((p) => (p === '__builtins__' ? 'builtins' : p));
  if (deniedPath([...module.split('.'), ...nameParts])) return true;
  for (let i = 0; i < nameParts.length - 1; i++) if (deniedPath(nameParts.slice(i))) return true;
  return false;
}

function matchesAllow(module: string, name: string, exact: Set<string>, prefixes: string[]): boolean {
  const full = `${module}.${name}`;
  if (exact.has(full)) return true;
  if (name.includes('.') || name.startsWith('__')) return false;
  return prefixes.some((p) => full.startsWith(p));
}

/** Builds the policy; `extraAllow` entries are 'module.name' or 'prefix.*'. */
export function importPolicy(extraAllow: readonly string[] = []): ImportPolicy {
  const exact = new Set([...ALLOW_EXACT, ...extraAllow.filter((p) => !p.endsWith('*'))]);
  const prefixes = [...ALLOW_PREFIXES, ...extraAllow.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1))];
  const cache = new Map<string, ImportStatus>();
  return {
    classify(module, name) {
      const key = `${module}\n${name}`;
      let status = cache.get(key);
      if (status === undefined) {
        status = isDenied(module, name)
          ? 'denied'
          : matchesAllow(module, name, exact, prefixes)
            ? 'allowed'
            : 'unknown';
        if (cache.size < 10_000) cache.set(key, status);
      }
      return status;
    },
  };
}

/** Checks a user allow entry ('module.name' or 'module.*'); returns a reason when it is malformed. */
export function allowEntryProblem(entry: string): string | undefined {
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(\.\*)?$/.test(entry) || !entry.includes('.'))
    return `'${entry}' is not an import name like 'module.name' or 'package.*'`;
  return undefined;
}
