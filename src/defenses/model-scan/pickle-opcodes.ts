/**
 * The pickle opcodes, protocols 0–5, as CPython's Lib/pickletools.py lists them: byte code,
 * name, the argument that follows the code in the stream, and the protocol that introduced it.
 */

/** How an opcode's argument is encoded in the stream (pickletools' ArgumentDescriptor names). */
export type ArgKind =
  | 'none'
  | 'uint1'
  | 'uint2'
  | 'int4'
  | 'uint4'
  | 'uint8'
  | 'long1'
  | 'long4'
  | 'float8'
  | 'decimalnl_short'
  | 'decimalnl_long'
  | 'floatnl'
  | 'stringnl'
  | 'stringnl_noescape'
  | 'stringnl_noescape_pair'
  | 'unicodestringnl'
  | 'string1'
  | 'string4'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'bytearray8'
  | 'unicodestring1'
  | 'unicodestring4'
  | 'unicodestring8';

export interface OpcodeInfo {
  code: number;
  name: string;
  arg: ArgKind;
  proto: number;
}

const TABLE: [string, string, ArgKind, number][] = [
  // Integers
  ['I', 'INT', 'decimalnl_short', 0],
  ['J', 'BININT', 'int4', 1],
  ['K', 'BININT1', 'uint1', 1],
  ['M', 'BININT2', 'uint2', 1],
  ['L', 'LONG', 'decimalnl_long', 0],
  ['\x8a', 'LONG1', 'long1', 2],
  ['\x8b', 'LONG4', 'long4', 2],
  // Strings and bytes
  ['S', 'STRING', 'stringnl', 0],
  ['T', 'BINSTRING', 'string4', 1],
  ['U', 'SHORT_BINSTRING', 'string1', 1],
  ['B', 'BINBYTES', 'bytes4', 3],
  ['C', 'SHORT_BINBYTES', 'bytes1', 3],
  ['\x8e', 'BINBYTES8', 'bytes8', 4],
  ['\x96', 'BYTEARRAY8', 'bytearray8', 5],
  ['\x97', 'NEXT_BUFFER', 'none', 5],
  ['\x98', 'READONLY_BUFFER', 'none', 5],
  // Constants
  ['N', 'NONE', 'none', 0],
  ['\x88', 'NEWTRUE', 'none', 2],
  ['\x89', 'NEWFALSE', 'none', 2],
  // Unicode
  ['V', 'UNICODE', 'unicodestringnl', 0],
  ['\x8c', 'SHORT_BINUNICODE', 'unicodestring1', 4],
  ['X', 'BINUNICODE', 'unicodestring4', 1],
  ['\x8d', 'BINUNICODE8', 'unicodestring8', 4],
  // Floats
  ['F', 'FLOAT', 'floatnl', 0],
  ['G', 'BINFLOAT', 'float8', 1],
  // Lists
  [']', 'EMPTY_LIST', 'none', 1],
  ['a', 'APPEND', 'none', 0],
  ['e', 'APPENDS', 'none', 1],
  ['l', 'LIST', 'none', 0],
  // Tuples
  [')', 'EMPTY_TUPLE', 'none', 1],
  ['t', 'TUPLE', 'none', 0],
  ['\x85', 'TUPLE1', 'none', 2],
  ['\x86', 'TUPLE2', 'none', 2],
  ['\x87', 'TUPLE3', 'none', 2],
  // Dicts
  ['}', 'EMPTY_DICT', 'none', 1],
  ['d', 'DICT', 'none', 0],
  ['s', 'SETITEM', 'none', 0],
  ['u', 'SETITEMS', 'none', 1],
  // Sets
  ['\x8f', 'EMPTY_SET', 'none', 4],
  ['\x90', 'ADDITEMS', 'none', 4],
  ['\x91', 'FROZENSET', 'none', 4],
  // Stack manipulation
  ['0', 'POP', 'none', 0],
  ['2', 'DUP', 'none', 0],
  ['(', 'MARK', 'none', 0],
  ['1', 'POP_MARK', 'none', 1],
  // Memo
  ['g', 'GET', 'decimalnl_short', 0],
  ['h', 'BINGET', 'uint1', 1],
  ['j', 'LONG_BINGET', 'uint4', 1],
  ['p', 'PUT', 'decimalnl_short', 0],
  ['q', 'BINPUT', 'uint1', 1],
  ['r', 'LONG_BINPUT', 'uint4', 1],
  ['\x94', 'MEMOIZE', 'none', 4],
  // Extension registry
  ['\x82', 'EXT1', 'uint1', 2],
  ['\x83', 'EXT2', 'uint2', 2],
  ['\x84', 'EXT4', 'int4', 2],
  // Objects
  ['c', 'GLOBAL', 'stringnl_noescape_pair', 0],
  ['\x93', 'STACK_GLOBAL', 'none', 4],
  ['R', 'REDUCE', 'none', 0],
  ['b', 'BUILD', 'none', 0],
  ['i', 'INST', 'stringnl_noescape_pair', 0],
  ['o', 'OBJ', 'none', 1],
  ['\x81', 'NEWOBJ', 'none', 2],
  ['\x92', 'NEWOBJ_EX', 'none', 4],
  // Machine control
  ['\x80', 'PROTO', 'uint1', 2],
  ['.', 'STOP', 'none', 0],
  ['\x95', 'FRAME', 'uint8', 4],
  // Persistent IDs
  ['P', 'PERSID', 'stringnl_noescape', 0],
  ['Q', 'BINPERSID', 'none', 1],
];

export const OPCODES: OpcodeInfo[] = TABLE.map(([ch, name, arg, proto]) => ({
  code: ch.charCodeAt(0),
  name,
  arg,
  proto,
}));

/** Opcode info by byte value; undefined for bytes that are not opcodes. */
export const OPCODE_BY_CODE: (OpcodeInfo | undefined)[] = (() => {
  const byCode: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const op of OPCODES) byCode[op.code] = op;
  return byCode;
})();

export const HIGHEST_PROTOCOL = 5;

export function isOpcode(byte: number): boolean {
  return byte >= 0 && byte < 256 && OPCODE_BY_CODE[byte] !== undefined;
}
