/**
 * Rules of the Keras, HDF5, ONNX and safetensors scanners: id → default severity and meaning (for
 * SARIF rule metadata and the docs table). Some rules also fire at another severity where noted.
 */
import type { Severity } from './finding.js';

export const FORMAT_RULES: Record<string, { severity: Severity; description: string }> = {
  'keras/lambda': {
    severity: 'critical',
    description:
      'A Lambda layer (or __lambda__ object) holds marshalled Python bytecode that runs when the model loads.',
  },
  'keras/lambda-reference': {
    severity: 'high',
    description: 'A Lambda layer calls a named function from a module outside Keras; loading imports and runs it.',
  },
  'keras/dangerous-module': {
    severity: 'critical',
    description: 'The config names an object or function of os, subprocess, builtins, sys, … (CVE-2025-1550 pattern).',
  },
  'keras/custom-object': {
    severity: 'high',
    description: 'A class or function that is not a Keras built-in: loading needs (and runs) its author’s code.',
  },
  'keras/ecosystem-object': {
    severity: 'low',
    description: 'An object from a keras-team package (keras_hub, keras_nlp, keras_cv, …) that must be installed.',
  },
  'keras/external-model': {
    severity: 'high',
    description: 'TFSMLayer loads a TensorFlow SavedModel from a path outside the file, unchecked.',
  },
  'keras/external-file': {
    severity: 'medium',
    description: 'A lookup or text-vectorization layer reads its vocabulary from a path or URL when loaded.',
  },
  'keras/tf-op-io': {
    severity: 'high',
    description: 'A TFOpLambda calls a TensorFlow function that reads or writes files or runs Python.',
  },
  'keras/config-too-deep': {
    severity: 'high',
    description: 'The config JSON nests deeper than the depth limit; refused without parsing.',
  },
  'keras/config-too-large': { severity: 'high', description: 'A standalone config.json over the entry size limit.' },
  'keras/malformed-config': {
    severity: 'medium',
    description: 'The config is not valid JSON or not a Keras model config; nothing in it was checked.',
  },
  'hdf5/keras-model': { severity: 'info', description: 'A Keras legacy .h5 model; its model_config was checked.' },
  'hdf5/keras-weights': { severity: 'info', description: 'Keras weights only (layer_names, no model_config).' },
  'hdf5/not-keras': { severity: 'info', description: 'An HDF5 file without a model_config attribute.' },
  'hdf5/malformed': {
    severity: 'high',
    description: 'A structure is unreadable or points past the end of the file (medium away from the root group).',
  },
  'hdf5/truncated': {
    severity: 'medium',
    description: 'The file is shorter than its superblock’s end-of-file address.',
  },
  'hdf5/loop': {
    severity: 'high',
    description: 'An object-header continuation or group B-tree loops back on itself (hangs naive readers).',
  },
  'hdf5/absurd-size': {
    severity: 'high',
    description: 'A declared size (elements, block, heap object) over the limits or past the data; refused unread.',
  },
  'hdf5/group-cycle': { severity: 'medium', description: 'A group links to one of its ancestors.' },
  'hdf5/too-deep': { severity: 'high', description: 'Groups nest deeper than the depth limit; deeper ones unchecked.' },
  'hdf5/too-many-objects': {
    severity: 'medium',
    description: 'More objects than the entry limit; the rest unchecked.',
  },
  'hdf5/dense-attributes': {
    severity: 'high',
    description:
      'Root attributes in dense (fractal heap) storage, not read: a model_config there is unchecked (info elsewhere).',
  },
  'hdf5/dense-links': { severity: 'info', description: 'Groups in dense (fractal heap) storage were not walked.' },
  'hdf5/external-link': {
    severity: 'medium',
    description: 'An external link opens another HDF5 file (high when absolute or climbing out with ..).',
  },
  'hdf5/external-storage': {
    severity: 'medium',
    description: 'A dataset’s data lives in an external raw file (high when absolute or climbing out with ..).',
  },
  'onnx/external-data-escape': {
    severity: 'critical',
    description: 'External tensor data at an absolute path, a .. path out of the model folder, or a symlink out of it.',
  },
  'onnx/external-data-missing': { severity: 'medium', description: 'The external data file does not exist.' },
  'onnx/external-data-invalid': {
    severity: 'medium',
    description:
      'External data without a location, with a bad offset/length, or not a regular file (high: NUL or overlong path).',
  },
  'onnx/external-data-dotdot': {
    severity: 'medium',
    description: 'A location using .. that stays inside the folder (the ONNX checker refuses it).',
  },
  'onnx/external-data-range': { severity: 'medium', description: 'offset + length reach past the external file.' },
  'onnx/custom-op-domain': {
    severity: 'high',
    description: 'Nodes in a non-standard op domain: native code from a custom-op library the loader registers.',
  },
  'onnx/contrib-op-domain': { severity: 'low', description: 'ONNX Runtime contrib ops (com.microsoft*).' },
  'onnx/unknown-opset-domain': {
    severity: 'medium',
    description: 'An opset import of an unknown domain that no node uses.',
  },
  'onnx/model-functions': { severity: 'info', description: 'Model-local functions; their bodies were checked too.' },
  'onnx/too-deep': { severity: 'high', description: 'Subgraphs nest deeper than the depth limit.' },
  'onnx/malformed': { severity: 'high', description: 'Not a readable ONNX protobuf, or no graph.' },
  'safetensors/header-length': {
    severity: 'high',
    description: 'The u64 header length is over 100 MB, past the end of the file, or too small.',
  },
  'safetensors/truncated': { severity: 'high', description: 'Fewer than 8 bytes.' },
  'safetensors/malformed-header': {
    severity: 'high',
    description: 'The header is not a JSON object (or nests past the depth limit).',
  },
  'safetensors/bad-tensor-entry': {
    severity: 'high',
    description: 'A tensor entry without valid dtype/shape/data_offsets (end before begin, negative dims …).',
  },
  'safetensors/offset-out-of-range': {
    severity: 'high',
    description: 'data_offsets reach past the data section (out-of-bounds reads in loaders).',
  },
  'safetensors/size-mismatch': { severity: 'high', description: 'shape × dtype size differs from end − begin.' },
  'safetensors/overlap': { severity: 'high', description: 'Two tensors share bytes.' },
  'safetensors/gap': {
    severity: 'medium',
    description: 'Bytes between tensors belong to none (the spec forbids holes).',
  },
  'safetensors/trailing-data': {
    severity: 'medium',
    description: 'Bytes after the last tensor belong to none (room for a payload).',
  },
  'safetensors/unknown-dtype': { severity: 'medium', description: 'A dtype safetensors does not define.' },
  'safetensors/bad-metadata': { severity: 'medium', description: '__metadata__ is not a string → string map.' },
};
