/**
 * Where an ONNX tensor's external data would be read from
 * (https://onnx.ai/onnx/repo-docs/ExternalData.html): the 'location' must be a relative path that
 * stays inside the model's folder, also after following symlinks — otherwise loading the model
 * reads (and may return through the weights) any file the loader can read (CVE-2024-27318,
 * CVE-2022-25882 pattern). Checks the disk only for models that are plain files.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path';
import type { Severity } from './finding.js';

export interface LocationVerdict {
  severity: Severity;
  rule: string;
  message: string;
}

function escapes(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** Absolute on any platform: '/x', '\\x', 'C:…', '\\\\server\\share'. */
function absoluteAnywhere(location: string): boolean {
  return location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location);
}

/** The lexical verdict: absolute paths and '..' that climbs out of the model folder. */
export function lexicalVerdict(location: string): LocationVerdict | undefined {
  if (location.length === 0) {
    return { severity: 'medium', rule: 'onnx/external-data-invalid', message: 'external data with an empty location' };
  }
  if (location.includes('\0')) {
    return {
      severity: 'high',
      rule: 'onnx/external-data-invalid',
      message: 'the external-data location contains a NUL byte',
    };
  }
  if (absoluteAnywhere(location)) {
    return {
      severity: 'critical',
      rule: 'onnx/external-data-escape',
      message: `external data at the absolute path ${JSON.stringify(location)}: loading reads a file outside the model's folder`,
    };
  }
  const normal = posix.normalize(location.replaceAll('\\', '/'));
  if (normal === '..' || normal.startsWith('../')) {
    return {
      severity: 'critical',
      rule: 'onnx/external-data-escape',
      message: `external data at ${JSON.stringify(location)} climbs out of the model's folder: loading reads ${JSON.stringify(normal)} relative to it`,
    };
  }
  if (location.replaceAll('\\', '/').split('/').includes('..')) {
    return {
      severity: 'medium',
      rule: 'onnx/external-data-dotdot',
      message: `external data at ${JSON.stringify(location)} uses '..' (it stays in the folder, but the ONNX checker refuses it)`,
    };
  }
  return undefined;
}

/** The verdict on disk for a location that is lexically inside the folder of the model file `modelPath`. */
export function diskVerdict(
  location: string,
  modelPath: string,
  range: { offset?: number; length?: number },
): LocationVerdict | undefined {
  const folder = resolve(dirname(modelPath));
  const target = resolve(folder, location.replaceAll('\\', '/'));
  try {
    lstatSync(target);
  } catch {
    return {
      severity: 'medium',
      rule: 'onnx/external-data-missing',
      message: `external data file ${JSON.stringify(location)} does not exist next to the model; loading will fail`,
    };
  }
  let real: string;
  let realFolder: string;
  try {
    real = realpathSync(target);
    realFolder = realpathSync(folder);
  } catch {
    return {
      severity: 'high',
      rule: 'onnx/external-data-escape',
      message: `external data at ${JSON.stringify(location)} is a symlink that cannot be resolved (a loop or a dangling link)`,
    };
  }
  if (escapes(realFolder, real)) {
    return {
      severity: 'critical',
      rule: 'onnx/external-data-escape',
      message: `external data at ${JSON.stringify(location)} is a symlink to ${JSON.stringify(real)}, outside the model's folder`,
    };
  }
  const stat = statSync(real);
  if (!stat.isFile()) {
    return {
      severity: 'medium',
      rule: 'onnx/external-data-invalid',
      message: `external data at ${JSON.stringify(location)} is not a regular file`,
    };
  }
  const end = (range.offset ?? 0) + (range.length ?? 0);
  if (end > stat.size) {
    return {
      severity: 'medium',
      rule: 'onnx/external-data-range',
      message: `external data range ends at byte ${end} of ${JSON.stringify(location)}, which has ${stat.size} bytes`,
    };
  }
  return undefined;
}
