"""Writes the small HDF5 files in test/fixtures/h5/ with h5py (libhdf5 itself), laid out like
Keras legacy .h5 models: root attributes keras_version, backend, model_config and
training_config, weights under model_weights/<layer>/<layer>/kernel:0 with layer_names and
weight_names attributes. The model-scan tests read them without Python.

  keras2_benign.h5      tf.keras style: attributes written as Python bytes (h5py stores them as
                        variable-length ASCII strings), v0 superblock
  keras_lambda_vlen.h5  model_config as a variable-length UTF-8 string (global heap) holding a
                        Lambda layer whose code is a real marshalled lambda (never run)
  keras_custom_fixed.h5 fixed-length model_config naming a custom layer class
  keras_latest.h5       libver='latest': v3 superblock, v2 object headers, link messages,
                        v3 attribute messages; benign model_config
  plain_data.h5         a non-Keras file: nested groups (enough for several symbol-table nodes),
                        a dataset, numeric and string attributes
  userblock_lambda.h5   the Lambda model behind a 512-byte user block (superblock at byte 512)

Usage: /usr/bin/python3 scripts/make-h5-fixtures.py   (needs python3-h5py)
"""
import base64
import json
import marshal
import os

import h5py
import numpy as np

OUT = 'test/fixtures/h5'


def k2(class_name, config):
    return {'class_name': class_name, 'config': config}


def dense(name, units):
    return k2('Dense', {
        'name': name, 'trainable': True, 'dtype': 'float32', 'units': units, 'activation': 'relu',
        'use_bias': True, 'kernel_initializer': k2('GlorotUniform', {'seed': None}),
        'bias_initializer': k2('Zeros', {}), 'kernel_regularizer': None,
    })


def sequential(layers):
    return k2('Sequential', {
        'name': 'sequential',
        'layers': [k2('InputLayer', {'batch_input_shape': [None, 4], 'dtype': 'float32', 'name': 'input_1'})] + layers,
    })


def lambda_layer():
    evil = lambda x: __import__('os').system('id') or x  # noqa: E731 - marshalled only, never called
    code = base64.encodebytes(marshal.dumps(evil.__code__)).decode('ascii')
    return k2('Lambda', {
        'name': 'lambda', 'trainable': True, 'dtype': 'float32', 'function': [code, None, None],
        'function_type': 'lambda', 'module': '__main__', 'output_shape': None,
        'output_shape_type': 'raw', 'output_shape_module': None, 'arguments': {},
    })


TRAINING = {
    'loss': 'sparse_categorical_crossentropy', 'metrics': ['accuracy'],
    'optimizer_config': k2('Adam', {'name': 'Adam', 'learning_rate': 0.001, 'beta_1': 0.9}),
}


def write_weights(f, layers, as_bytes):
    g = f.create_group('model_weights')
    names = [name for name, _ in layers]
    g.attrs['layer_names'] = np.array([n.encode('utf8') for n in names])
    g.attrs['backend'] = b'tensorflow' if as_bytes else 'tensorflow'
    g.attrs['keras_version'] = b'2.15.0' if as_bytes else '2.15.0'
    for name, shape in layers:
        lg = g.create_group(name)
        weight_names = [f'{name}/kernel:0', f'{name}/bias:0']
        lg.attrs['weight_names'] = np.array([w.encode('utf8') for w in weight_names])
        inner = lg.create_group(name)
        inner.create_dataset('kernel:0', data=np.arange(np.prod(shape), dtype='<f4').reshape(shape) / 10)
        inner.create_dataset('bias:0', data=np.zeros(shape[-1], dtype='<f4'))


def keras_file(path, config, as_bytes, libver='earliest', fixed=False, userblock=0):
    text = json.dumps(config)
    with h5py.File(path, 'w', libver=libver, userblock_size=userblock) as f:
        if fixed:  # numpy 'S' scalars become fixed-length strings
            enc = lambda s: np.bytes_(s.encode('utf8'))  # noqa: E731
        else:
            enc = (lambda s: s.encode('utf8')) if as_bytes else (lambda s: s)
        f.attrs['keras_version'] = enc('2.15.0')
        f.attrs['backend'] = enc('tensorflow')
        f.attrs['model_config'] = enc(text)
        f.attrs['training_config'] = enc(json.dumps(TRAINING))
        write_weights(f, [('dense', (4, 8)), ('dense_1', (8, 3))], as_bytes)


def plain_file(path):
    with h5py.File(path, 'w') as f:
        f.attrs['title'] = 'measurements'
        f.attrs['version'] = np.int32(3)
        f.attrs['scale'] = np.array([0.5, 2.0])
        data = f.create_group('data')
        for i in range(20):
            data.create_group(f'run_{i:02d}').attrs['note'] = f'run {i}'
        data.create_dataset('values', data=np.arange(12, dtype='<i4').reshape(3, 4))


def main():
    os.makedirs(OUT, exist_ok=True)
    benign = sequential([dense('dense', 8), dense('dense_1', 3)])
    keras_file(f'{OUT}/keras2_benign.h5', benign, as_bytes=True)
    keras_file(f'{OUT}/keras_lambda_vlen.h5', sequential([dense('dense', 8), lambda_layer()]), as_bytes=False)
    custom = sequential([dense('dense', 8), k2('AcmeAttention', {'name': 'acme', 'heads': 2})])
    keras_file(f'{OUT}/keras_custom_fixed.h5', custom, as_bytes=True, fixed=True)
    keras_file(f'{OUT}/keras_latest.h5', benign, as_bytes=False, libver='latest')
    plain_file(f'{OUT}/plain_data.h5')
    lambda_model = sequential([dense('dense', 8), lambda_layer()])
    keras_file(f'{OUT}/userblock_lambda.h5', lambda_model, as_bytes=False, userblock=512)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(f'{OUT}/{name}'))


main()
