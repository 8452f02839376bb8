// Placeholder until the forward-convolution gradients land (issue 2, runtime).
export function registerConvGradients(): void {}
