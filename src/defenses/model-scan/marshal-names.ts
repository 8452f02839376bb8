/**
 * A look inside the base64 marshalled Python code that Keras stores for Lambda layers
 * (keras.utils.func_dump: base64(marshal.dumps(fn.__code__))), without running or fully parsing
 * it: the decoded size, whether it starts like a code object, and the short strings marshal keeps
 * for names and constants (what the code imports and calls: 'os', 'system', 'eval' …).
 */

export interface MarshalSummary {
  /** Decoded bytes, or -1 when the text is not base64. */
  bytes: number;
  /** The first byte is TYPE_CODE ('c', possibly with FLAG_REF). */
  codeObject: boolean;
  /** Readable names and string constants, in order of first appearance (at most `maxNames`). */
  names: string[];
}

/** Names that make marshalled code obviously hostile when they appear among its strings. */
const ALARMING = new Set([
  'os',
  'system',
  'popen',
  'subprocess',
  'Popen',
  'check_output',
  'run',
  'exec',
  'eval',
  'compile',
  '__import__',
  '__builtins__',
  'builtins',
  'open',
  'socket',
  'connect',
  'urlopen',
  'requests',
  'shutil',
  'rmtree',
  'remove',
  'unlink',
  'execve',
  'spawn',
  'pty',
  'ctypes',
  'getattr',
  'globals',
  'setattr',
  'marshal',
  'pickle',
  'loads',
]);

const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  return bytes.length > 0 ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : undefined;
}

function printable(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] < 0x20 || bytes[i] > 0x7e) return false;
  return true;
}

/** Strings stored with marshal's string type codes ('z'/'Z' short ASCII, 'a'/'A'/'u'/'t' with a u32 length). */
export function marshalStrings(bytes: Uint8Array, maxNames = 24): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < bytes.length && found.length < maxNames) {
    const type = bytes[i] & 0x7f;
    let start = -1;
    let length = 0;
    if ((type === 0x7a || type === 0x5a) && i + 1 < bytes.length) {
      length = bytes[i + 1];
      start = i + 2;
    } else if ((type === 0x61 || type === 0x41 || type === 0x75 || type === 0x74) && i + 4 < bytes.length) {
      length = bytes[i + 1] | (bytes[i + 2] << 8) | (bytes[i + 3] << 16) | (bytes[i + 4] << 24);
      start = i + 5;
      if (length < 0 || length > 512) start = -1;
    }
    if (start >= 0 && length > 0 && start + length <= bytes.length && printable(bytes, start, start + length)) {
      const s = Buffer.from(bytes.subarray(start, start + length)).toString('latin1');
      if (!seen.has(s)) {
        seen.add(s);
        found.push(s);
      }
      i = start + length;
    } else i++;
  }
  return found;
}

export function summarizeMarshalledCode(base64Text: string, maxNames = 24): MarshalSummary {
  const bytes = decodeBase64(base64Text);
  if (!bytes) return { bytes: -1, codeObject: false, names: [] };
  return { bytes: bytes.length, codeObject: (bytes[0] & 0x7f) === 0x63, names: marshalStrings(bytes, maxNames) };
}

export function alarmingNames(names: string[]): string[] {
  return names.filter((n) => ALARMING.has(n) || n.split('.').some((part) => ALARMING.has(part)));
}

/** One line describing the code for a finding message. */
export function describeMarshalledCode(summary: MarshalSummary): string {
  if (summary.bytes < 0) return 'the function text is not base64';
  const kind = summary.codeObject ? 'a marshalled Python code object' : 'marshalled data';
  const names = summary.names.length > 0 ? `; strings: ${summary.names.map((n) => JSON.stringify(n)).join(', ')}` : '';
  const alarming = alarmingNames(summary.names);
  const alarm = alarming.length > 0 ? `; references ${alarming.join(', ')}` : '';
  return `${kind} of ${summary.bytes} bytes${alarm}${names}`;
}
