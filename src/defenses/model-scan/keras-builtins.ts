/**
 * What Keras (2.x, tf.keras / tf_keras, and 3.x) can deserialize without user code: class names
 * of built-in layers, models, initializers, regularizers, constraints, optimizers, schedules,
 * losses, metrics and dtype policies, the pseudo-classes of Keras 3's serialization_lib, and the
 * modules those live in. Anything else in a config needs the author's Python code to load.
 */

const LAYERS = `
Layer InputLayer Input Sequential Functional Model Dense EinsumDense Embedding Masking Lambda Identity Wrapper
Activation Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianDropout GaussianNoise AlphaDropout
ActivityRegularization Flatten Reshape Permute RepeatVector Cropping1D Cropping2D Cropping3D ZeroPadding1D
ZeroPadding2D ZeroPadding3D UpSampling1D UpSampling2D UpSampling3D Conv1D Conv2D Conv3D Conv1DTranspose
Conv2DTranspose Conv3DTranspose SeparableConv1D SeparableConv2D DepthwiseConv1D DepthwiseConv2D Convolution1D
Convolution2D Convolution3D Convolution1DTranspose Convolution2DTranspose Convolution3DTranspose Deconvolution2D
Deconvolution3D SeparableConvolution1D SeparableConvolution2D LocallyConnected1D LocallyConnected2D ConvLSTM1D
ConvLSTM2D ConvLSTM3D ConvLSTM1DCell ConvLSTM2DCell ConvLSTM3DCell MaxPooling1D MaxPooling2D MaxPooling3D
AveragePooling1D AveragePooling2D AveragePooling3D MaxPool1D MaxPool2D MaxPool3D AvgPool1D AvgPool2D AvgPool3D
GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAveragePooling1D GlobalAveragePooling2D
GlobalAveragePooling3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalAvgPool1D GlobalAvgPool2D
GlobalAvgPool3D AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D
AdaptiveMaxPooling2D AdaptiveMaxPooling3D BatchNormalization LayerNormalization GroupNormalization
UnitNormalization SpectralNormalization Normalization RMSNormalization SyncBatchNormalization RNN SimpleRNN
SimpleRNNCell LSTM LSTMCell GRU GRUCell StackedRNNCells PeepholeLSTMCell Bidirectional TimeDistributed CuDNNLSTM
CuDNNGRU Attention AdditiveAttention MultiHeadAttention GroupedQueryAttention Add Subtract Multiply Average
Maximum Minimum Concatenate Dot ReLU LeakyReLU PReLU ELU ThresholdedReLU Softmax Rescaling Resizing CenterCrop
RandomCrop RandomFlip RandomRotation RandomZoom RandomTranslation RandomContrast RandomBrightness RandomHeight
RandomWidth RandomGrayscale RandomHue RandomSaturation RandomSharpness RandomShear RandomColorJitter
RandomColorDegeneration RandomPosterization RandomInvert RandomErasing RandomGaussianBlur RandomElasticTransform
RandomPerspective RandomApply AugMix CutMix MixUp RandAugment AutoContrast Solarization Equalization
MaxNumBoundingBoxes Pipeline TextVectorization StringLookup IntegerLookup CategoryEncoding Hashing HashedCrossing
Discretization MelSpectrogram STFTSpectrogram TFSMLayer TorchModuleWrapper JaxLayer FlaxLayer TFOpLambda
SlicingOpLambda InstanceProperty InstanceMethod ClassMethod KerasTensor Operation
`;

const OTHER_OBJECTS = `
Constant Zeros Ones RandomNormal RandomUniform TruncatedNormal GlorotNormal GlorotUniform HeNormal HeUniform
LecunNormal LecunUniform Orthogonal OrthogonalInitializer IdentityInitializer VarianceScaling STFTInitializer
Initializer zeros ones constant random_normal random_uniform truncated_normal glorot_normal glorot_uniform
he_normal he_uniform lecun_normal lecun_uniform orthogonal identity variance_scaling L1 L2 L1L2 L1L2Regularizer
OrthogonalRegularizer Regularizer l1 l2 l1_l2 MaxNorm MinMaxNorm NonNeg UnitNorm RadialConstraint Constraint
max_norm min_max_norm non_neg unit_norm Adam AdamW Adamax Adadelta Adagrad Adafactor Ftrl Lion Lamb Nadam
RMSprop SGD LossScaleOptimizer LossScaleOptimizerV3 Muon Optimizer ExponentialDecay PiecewiseConstantDecay
PolynomialDecay InverseTimeDecay CosineDecay CosineDecayRestarts LearningRateSchedule BinaryCrossentropy
BinaryFocalCrossentropy CategoricalCrossentropy CategoricalFocalCrossentropy SparseCategoricalCrossentropy
MeanSquaredError MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredLogarithmicError Hinge SquaredHinge
CategoricalHinge Huber LogCosh KLDivergence Poisson CosineSimilarity Tversky Dice CTC Circle LossFunctionWrapper
Loss Reduction Accuracy BinaryAccuracy CategoricalAccuracy SparseCategoricalAccuracy TopKCategoricalAccuracy
SparseTopKCategoricalAccuracy AUC Precision Recall Mean Sum MeanMetricWrapper MeanIoU IoU BinaryIoU OneHotIoU
OneHotMeanIoU PrecisionAtRecall RecallAtPrecision SensitivityAtSpecificity SpecificityAtSensitivity
TruePositives TrueNegatives FalsePositives FalseNegatives RootMeanSquaredError R2Score F1Score FBetaScore
LogCoshError PearsonCorrelation ConcordanceCorrelation MeanTensor Metric DTypePolicy FloatDTypePolicy
QuantizedDTypePolicy QuantizedFloat8DTypePolicy GPTQDTypePolicy DTypePolicyMap Policy PolicyV1
`;

function words(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter(Boolean));
}

export const KERAS_LAYER_CLASSES = words(LAYERS);
export const KERAS_BUILTIN_CLASSES = new Set([...KERAS_LAYER_CLASSES, ...words(OTHER_OBJECTS)]);

/** tf.keras 2.11–2.15 registered its new optimizers as 'Custom>Adam' … and saves them under that name. */
const TF_KERAS_CUSTOM_OPTIMIZERS = words('Adam AdamW Adamax Adadelta Adagrad Adafactor Ftrl Lion Nadam RMSprop SGD');

/** A class name Keras resolves without user code (Keras 2 configs name classes without a module). */
export function isKerasBuiltinClass(name: string): boolean {
  if (KERAS_BUILTIN_CLASSES.has(name)) return true;
  return name.startsWith('Custom>') && TF_KERAS_CUSTOM_OPTIMIZERS.has(name.slice('Custom>'.length));
}

/** Keras 3 serialization_lib pseudo-classes for plain values (never user code, except '__lambda__'). */
export const KERAS_VALUE_PSEUDO_CLASSES = new Set([
  '__tuple__',
  '__numpy__',
  '__bytes__',
  '__ellipsis__',
  '__slice__',
  '__typespec__',
  '__tensor__',
  '__keras_tensor__',
]);

/** Module prefixes whose objects Keras itself provides. */
const KERAS_MODULES = ['keras', 'tf_keras', 'tensorflow.keras', 'tensorflow.python.keras', 'tf.keras'];

/** keras-team packages built on Keras: their objects need that package installed, not unknown code. */
const KERAS_ECOSYSTEM_MODULES = ['keras_hub', 'keras_nlp', 'keras_cv', 'keras_rs', 'keras_tuner'];

/** Modules whose functions give a shell, the file system, the network or the interpreter itself. */
const DANGEROUS_MODULES = [
  'os',
  'posix',
  'nt',
  'subprocess',
  'builtins',
  '__builtin__',
  'sys',
  'shutil',
  'socket',
  'importlib',
  'runpy',
  'pickle',
  'marshal',
  'ctypes',
  'code',
  'codeop',
  'pty',
  'webbrowser',
  'multiprocessing',
  'requests',
  'urllib',
  'http',
  'pathlib',
  'io',
  'tempfile',
  'asyncio',
];

function under(module: string, prefixes: string[]): boolean {
  return prefixes.some((p) => module === p || module.startsWith(`${p}.`));
}

export function isKerasModule(module: string): boolean {
  return under(module, KERAS_MODULES);
}

export function isKerasEcosystemModule(module: string): boolean {
  return under(module, KERAS_ECOSYSTEM_MODULES);
}

export function isDangerousModule(module: string): boolean {
  return under(module, DANGEROUS_MODULES);
}
