/**
 * Attachment checks: file types that run code when opened (executables, scripts, shortcuts, disk
 * images, HTML pages that render a fake login offline), double extensions that hide them
 * (invoice.pdf.exe), and Office macros — a `vbaProject.bin` part inside an OOXML zip
 * (.docm/.xlsm, or a renamed .docx), or a `_VBA_PROJECT` stream in a legacy OLE2 file (.doc/.xls).
 * Zip entries are listed from the central directory without inflating anything.
 */
import { unzipSync } from 'fflate';

export interface AttachmentInfo {
  filename: string;
  contentType: string;
  size: number;
  /** Office macros found in the content. */
  macro: boolean;
}

export const RISKY_EXTENSIONS: ReadonlySet<string> = new Set(
  'exe scr com pif bat cmd vbs vbe js jse wsf wsh hta jar msi ps1 lnk iso img vhd html htm shtml svg docm xlsm pptm dotm xlam one cpl'.split(
    ' ',
  ),
);

/** Extensions people expect to be harmless, used as the decoy of a double extension. */
const DECOY_EXTENSIONS: ReadonlySet<string> = new Set(
  'pdf doc docx xls xlsx jpg jpeg png gif txt rtf zip ppt pptx mp3'.split(' '),
);

export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot < 0
    ? ''
    : filename
        .slice(dot + 1)
        .toLowerCase()
        .trim();
}

export function isRiskyAttachment(filename: string): boolean {
  return RISKY_EXTENSIONS.has(extensionOf(filename));
}

/** `name.pdf.exe` (also with spaces or a right-to-left override hiding the real extension). */
export function hasDoubleExtension(filename: string): boolean {
  if (/[\u202e\u202d]/.test(filename)) return true;
  const parts = filename
    .toLowerCase()
    .split('.')
    .map((p) => p.trim());
  if (parts.length < 3) return false;
  const last = parts[parts.length - 1] as string;
  const before = parts[parts.length - 2] as string;
  return DECOY_EXTENSIONS.has(before) && RISKY_EXTENSIONS.has(last);
}

const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
/** "_VBA_PROJECT" as UTF-16LE, the name of the VBA directory stream in OLE2 files. */
const VBA_STREAM = new Uint8Array([...'_VBA_PROJECT'].flatMap((c) => [c.charCodeAt(0), 0]));

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0] as number;
  for (
    let i = haystack.indexOf(first);
    i >= 0 && i + needle.length <= haystack.length;
    i = haystack.indexOf(first, i + 1)
  ) {
    let ok = true;
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) {
        ok = false;
        break;
      }
    }
    if (ok) return i;
  }
  return -1;
}

/** Names of the entries of a zip archive (nothing inflated); [] when it is not a readable zip. */
export function zipEntryNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  try {
    unzipSync(bytes, {
      filter: (file) => {
        names.push(file.name);
        return false;
      },
    });
  } catch {
    return names;
  }
  return names;
}

/** True when the bytes hold Office VBA macros (OOXML vbaProject.bin or an OLE2 _VBA_PROJECT stream). */
export function hasOfficeMacro(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    return zipEntryNames(bytes).some((n) => /(^|\/)vbaProject\.bin$/i.test(n));
  }
  if (startsWith(bytes, OLE_MAGIC)) return indexOfBytes(bytes, VBA_STREAM) >= 0;
  return false;
}
