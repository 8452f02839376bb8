/**
 * HDF5 files, and Keras legacy .h5 models in particular: the root attributes `model_config` and
 * `training_config` (JSON, checked like a .keras config.json for Lambda layers and custom
 * objects), `keras_version` and `backend`; every group is walked to the depth limit for external
 * links and external raw-data files. Structural problems (offsets past the end, continuation or
 * B-tree loops, group cycles, absurd sizes) become findings; nothing large is allocated.
 */
import type { ByteSource, Finding, FormatScanner, ScanContext, Severity } from './finding.js';
import { type Attribute, HDF5_SIGNATURE, Hdf5FormatError, Hdf5Reader, MSG, type ObjectHeader } from './hdf5-reader.js';
import { scanKerasConfigText, scanKerasTrainingConfigText } from './keras.js';

/** Link or attribute storage in a fractal heap (dense storage), which this reader does not decode. */
function denseStorage(reader: Hdf5Reader, header: ObjectHeader, type: number): boolean {
  const m = header.messages.find((x) => x.type === type);
  if (!m) return false;
  const b = reader.message(m, type === MSG.attributeInfo ? 'attribute info message' : 'link info message');
  const skip = type === MSG.attributeInfo ? (b[1] & 0x01 ? 2 : 0) : b[1] & 0x01 ? 8 : 0;
  return reader.address(b, 2 + skip, 'fractal heap address') !== -1;
}

function escapesFolder(path: string): boolean {
  const p = path.replaceAll('\\', '/');
  return p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.split('/').includes('..');
}

class Hdf5Walk {
  readonly findings: Finding[] = [];
  readonly rootAttributes: Attribute[] = [];
  rootReadable = false;
  rootDenseAttributes = false;
  objects = 0;
  private readonly visited = new Set<number>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly reader: Hdf5Reader,
    private readonly context: ScanContext,
  ) {}

  private add(severity: Severity, rule: string, message: string, location: string): void {
    this.findings.push({ severity, rule, message, location });
  }

  private once(rule: string, severity: Severity, message: string, location: string): void {
    if (this.reported.has(rule)) return;
    this.reported.add(rule);
    this.add(severity, rule, message, location);
  }

  /** A structural error: loops are high (they hang naive readers); damage at the root is high (the config is there). */
  structural(error: Hdf5FormatError, location: string, root: boolean): void {
    if (error.kind === 'loop') {
      this.add('high', 'hdf5/loop', `${error.message}: a reader following it never ends`, location);
    } else if (error.kind === 'limit') {
      this.add('high', 'hdf5/absurd-size', `${error.message}; refused unread`, location);
    } else {
      this.add(
        root ? 'high' : 'medium',
        'hdf5/malformed',
        `${error.message}${root ? '; the root group could not be checked' : ''}`,
        location,
      );
    }
  }

  visit(address: number, path: string, depth: number, ancestors: number[]): void {
    if (ancestors.includes(address)) {
      this.add(
        'medium',
        'hdf5/group-cycle',
        `the group links back to its ancestor at byte ${address}; recursive readers loop`,
        path,
      );
      return;
    }
    if (this.visited.has(address)) return; // a second hard link to the same object
    if (depth > this.context.limits.maxDepth) {
      this.once(
        'hdf5/too-deep',
        'high',
        `groups nest deeper than the limit of ${this.context.limits.maxDepth}; deeper groups were not checked`,
        path,
      );
      return;
    }
    if (this.objects >= this.context.limits.maxEntries) {
      this.once(
        'hdf5/too-many-objects',
        'medium',
        `more than ${this.context.limits.maxEntries} objects; the rest were not checked`,
        path,
      );
      return;
    }
    this.visited.add(address);
    this.objects++;
    const root = depth === 0;
    let header: ObjectHeader;
    try {
      header = this.reader.objectHeader(address);
    } catch (error) {
      if (!(error instanceof Hdf5FormatError)) throw error;
      this.structural(error, `${path} @ byte ${address}`, root);
      return;
    }
    if (root) this.rootReadable = true;
    this.attributes(header, path, root);
    this.storage(header, path, root);
    let links: ReturnType<Hdf5Reader['links']>;
    try {
      links = this.reader.links(header);
    } catch (error) {
      if (!(error instanceof Hdf5FormatError)) throw error;
      this.structural(error, `${path} (group index) @ byte ${error.offset}`, false);
      return;
    }
    for (const link of links) {
      const child = `${path === '/' ? '' : path}/${link.name}`;
      if (link.kind === 'hard') {
        if (link.address < 0) this.add('medium', 'hdf5/malformed', 'hard link to an undefined address', child);
        else this.visit(link.address, child, depth + 1, [...ancestors, address]);
      } else if (link.kind === 'external') {
        this.add(
          escapesFolder(link.file) ? 'high' : 'medium',
          'hdf5/external-link',
          `external link to ${JSON.stringify(`${link.file}:${link.target}`)}: reading it opens another file`,
          child,
        );
      }
    }
  }

  private attributes(header: ObjectHeader, path: string, root: boolean): void {
    for (const m of header.messages) {
      if (m.type !== MSG.attribute) continue;
      try {
        const attribute = this.reader.attribute(m);
        if (root) this.rootAttributes.push(attribute);
      } catch (error) {
        if (!(error instanceof Hdf5FormatError)) throw error;
        this.structural(error, `${path} attribute @ byte ${m.start}`, root);
      }
    }
  }

  private storage(header: ObjectHeader, path: string, root: boolean): void {
    try {
      if (denseStorage(this.reader, header, MSG.attributeInfo)) {
        if (root) this.rootDenseAttributes = true;
        else
          this.once('hdf5/dense-attributes', 'info', 'attributes in dense storage (fractal heap) were not read', path);
      }
      if (denseStorage(this.reader, header, MSG.linkInfo)) {
        this.once('hdf5/dense-links', 'info', 'groups in dense storage (fractal heap) were not walked', path);
      }
      for (const m of header.messages.filter((x) => x.type === MSG.externalFiles)) {
        for (const file of this.reader.externalFiles(m)) {
          this.add(
            escapesFolder(file) ? 'high' : 'medium',
            'hdf5/external-storage',
            `dataset data is read from the external file ${JSON.stringify(file)}`,
            path,
          );
        }
      }
    } catch (error) {
      if (!(error instanceof Hdf5FormatError)) throw error;
      this.structural(error, `${path} @ byte ${error.offset}`, root);
    }
  }
}

function stringAttribute(attributes: Attribute[], name: string): string | undefined | null {
  const a = attributes.find((x) => x.name === name);
  if (!a) return undefined;
  return a.value.kind === 'string' && a.value.values.length > 0 ? a.value.values[0] : null;
}

/** What the root attributes say: a Keras model (scan its configs), Keras weights only, or not Keras. */
function kerasFindings(walk: Hdf5Walk, context: ScanContext): Finding[] {
  const attrs = walk.rootAttributes;
  const out: Finding[] = [];
  const config = stringAttribute(attrs, 'model_config');
  const version = stringAttribute(attrs, 'keras_version');
  const backend = stringAttribute(attrs, 'backend');
  if (config === null) {
    out.push({
      severity: 'medium',
      rule: 'keras/malformed-config',
      message: 'the model_config attribute is not a string; Keras cannot load it and it was not checked',
      location: 'attribute "model_config"',
    });
  } else if (config !== undefined) {
    out.push({
      severity: 'info',
      rule: 'hdf5/keras-model',
      message: `Keras model${version ? ` saved by Keras ${version}` : ''}${backend ? ` (backend ${backend})` : ''}; model_config checked`,
      location: '/',
    });
    out.push(...scanKerasConfigText(config, context, 'attribute "model_config": '));
  }
  const training = stringAttribute(attrs, 'training_config');
  if (training) out.push(...scanKerasTrainingConfigText(training, context, 'attribute "training_config": '));
  if (config !== undefined || !walk.rootReadable) return out;
  if (walk.rootDenseAttributes) {
    out.push({
      severity: 'high',
      rule: 'hdf5/dense-attributes',
      message:
        'the root attributes are in dense storage (fractal heap), which this scanner does not read: a model_config there would go unchecked',
      location: '/',
    });
  } else if (attrs.some((a) => a.name === 'layer_names')) {
    out.push({
      severity: 'info',
      rule: 'hdf5/keras-weights',
      message: 'Keras weights without a model config (no code to load)',
      location: '/',
    });
  } else {
    out.push({
      severity: 'info',
      rule: 'hdf5/not-keras',
      message: `HDF5 file without a model_config attribute (not a Keras model); ${walk.objects} object(s) walked`,
      location: '/',
    });
  }
  return out;
}

export function scanHdf5(source: ByteSource, context: ScanContext): Finding[] {
  const reader = new Hdf5Reader(source, context.limits);
  let superblock: Hdf5Reader['superblock'];
  try {
    superblock = reader.superblock;
  } catch (error) {
    if (!(error instanceof Hdf5FormatError)) throw error;
    return [
      {
        severity: 'high',
        rule: 'hdf5/malformed',
        message: `not a readable HDF5 file: ${error.message}`,
        location: `byte ${error.offset}`,
      },
    ];
  }
  const walk = new Hdf5Walk(reader, context);
  // libhdf5 writes the end-of-file address from the start of the file, user block included
  const end = superblock.eofAddress;
  if (superblock.eofAddress >= 0 && end > source.size) {
    walk.findings.push({
      severity: 'medium',
      rule: 'hdf5/truncated',
      message: `the superblock says the file ends at byte ${end} but it has ${source.size} bytes (truncated or cut)`,
      location: `superblock @ byte ${superblock.offset}`,
    });
  }
  walk.visit(superblock.rootAddress, '/', 0, []);
  return [...walk.findings, ...kerasFindings(walk, context)];
}

export const hdf5Scanner: FormatScanner = {
  format: 'hdf5',
  matches(head, name) {
    const signed = head.length >= 8 && HDF5_SIGNATURE.every((b, i) => head[i] === b);
    return signed || /\.(h5|hdf5|he5)$/i.test(name);
  },
  scan: scanHdf5,
};
